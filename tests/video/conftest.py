from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

SHARED_VIDEO = Path(__file__).resolve().parents[3] / "shared" / "data" / "video"
BUS = SHARED_VIDEO / "bus_352x288_420_f20_b8.yuv"  # (17 frames, whatever the name says)


def planes_420(
    rng: np.random.Generator, frames: int, height: int, width: int, *, depth: int = 8, noise: int = 6
) -> tuple[list[tuple[np.ndarray, ...]], list[tuple[np.ndarray, ...]]]:
    """A smooth moving 4:2:0 clip and a noisy copy: lists of (Y, U, V) per frame."""
    top = (1 << depth) - 1
    dtype = np.uint8 if depth == 8 else np.uint16
    ch, cw = -(-height // 2), -(-width // 2)
    ref, dist = [], []
    for f in range(frames):
        yy, xx = np.mgrid[0:height, 0:width]
        y = (xx * 3 + yy * 2 + 7 * f) % (top + 1)
        u = np.full((ch, cw), top // 2) + (np.mgrid[0:ch, 0:cw][1] + f) % 17
        v = np.full((ch, cw), top // 3) + (np.mgrid[0:ch, 0:cw][0] * 2) % 23
        planes = tuple(p.astype(dtype) for p in (y, u, v))
        noisy = tuple(
            np.clip(p.astype(np.int64) + rng.integers(-noise, noise + 1, p.shape), 0, top).astype(dtype)
            for p in planes
        )
        ref.append(planes)
        dist.append(noisy)
    return ref, dist


def write_raw(path: Path, frames: list[tuple[np.ndarray, ...]]) -> Path:
    with path.open("wb") as handle:
        for planes in frames:
            for p in planes:
                handle.write(p.astype(p.dtype.newbyteorder("<")).tobytes())
    return path


SUMMARY = re.compile(r"PSNR y:(\S+) u:(\S+) v:(\S+) average:(\S+)")


def raw_input(path: Path, size: str, pix_fmt: str) -> list[str]:
    return ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", size, "-i", str(path)]


def ffmpeg_psnr(
    exe: str, ref: list[str], dist: list[str], tmp: Path
) -> tuple[list[dict[str, float]], list[float]]:
    """ffmpeg's per-frame stats_file rows and its summary y, u, v, average."""
    stats = tmp / "stats.txt"
    done = subprocess.run(
        [
            exe,
            "-hide_banner",
            "-nostdin",
            *dist,
            *ref,
            "-lavfi",
            f"[0:v][1:v]psnr=stats_file={stats}",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in stats.read_text().splitlines():
        fields = dict(item.split(":", 1) for item in line.split())
        rows.append({k: float(v) for k, v in fields.items()})
    m = SUMMARY.search(done.stderr)
    assert m, done.stderr
    return rows, [float(v) for v in m.groups()]


@pytest.fixture
def ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    return exe


@pytest.fixture
def vmaf_ffmpeg() -> str:
    """An ffmpeg with libvmaf: the imageio-ffmpeg wheel's static binary, or the one on PATH."""
    candidates = []
    try:
        import imageio_ffmpeg

        candidates.append(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        pass
    if shutil.which("ffmpeg"):
        candidates.append(shutil.which("ffmpeg"))
    for exe in candidates:
        filters = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True).stdout
        if " libvmaf " in filters:
            return exe
    pytest.skip("no ffmpeg with libvmaf (pip install imageio-ffmpeg)")


@pytest.fixture
def bus() -> Path:
    if not BUS.is_file():
        pytest.skip("../shared/data/video is not present (fresh clone)")
    return BUS
