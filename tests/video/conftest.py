from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.video import tools

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


@pytest.fixture
def ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    return exe


@pytest.fixture
def vmaf_ffmpeg() -> str:
    """An ffmpeg with libvmaf (:func:`tests.video.tools.vmaf_ffmpeg`), or the test skips."""
    exe = tools.vmaf_ffmpeg()
    if exe is None:
        pytest.skip("no ffmpeg with libvmaf (pip install imageio-ffmpeg)")
    return exe


@pytest.fixture
def bus() -> Path:
    if not BUS.is_file():
        pytest.skip("../shared/data/video is not present (fresh clone)")
    return BUS
