"""The reference tools, run as the video tests and ``scripts/video_conventions.py`` compare with them.

ffmpeg's psnr filter (per-frame stats file and summary) and libvmaf's JSON log, on inputs given
as ffmpeg arguments (``raw_input`` for raw planar files). Plain functions, no pytest: the
script imports them too.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

SUMMARY = re.compile(r"PSNR y:(\S+) u:(\S+) v:(\S+) average:(\S+)")


def raw_input(path: Path, size: str, pix_fmt: str) -> list[str]:
    return ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", size, "-i", str(path)]


def ffmpeg_psnr(
    exe: str, ref: list[str], dist: list[str], tmp: Path
) -> tuple[list[dict[str, float]], list[float]]:
    """ffmpeg's per-frame stats_file rows and its summary y, u, v, average."""
    stats = tmp / "stats.txt"
    done = subprocess.run(
        [exe, "-hide_banner", "-nostdin", *dist, *ref, "-lavfi", f"[0:v][1:v]psnr=stats_file={stats}",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = []
    for line in stats.read_text().splitlines():
        fields = dict(item.split(":", 1) for item in line.split())
        rows.append({k: float(v) for k, v in fields.items()})
    m = SUMMARY.search(done.stderr)
    if m is None:
        raise RuntimeError(f"no psnr summary in ffmpeg's output:\n{done.stderr}")
    return rows, [float(v) for v in m.groups()]


def vmaf_ffmpeg() -> str | None:
    """An ffmpeg with libvmaf: the imageio-ffmpeg wheel's static binary, or the one on PATH."""
    candidates = []
    try:
        import imageio_ffmpeg

        candidates.append(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        pass
    on_path = shutil.which("ffmpeg")
    if on_path:
        candidates.append(on_path)
    for exe in candidates:
        filters = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True).stdout
        if " libvmaf " in filters:
            return exe
    return None


def libvmaf_psnr(exe: str, ref: list[str], dist: list[str], tmp: Path) -> dict[str, Any]:
    """libvmaf's JSON log of its psnr feature: per-frame psnr_y/cb/cr and the pooled means."""
    log = tmp / "vmaf.json"
    subprocess.run(
        [exe, "-hide_banner", "-v", "error", *dist, *ref, "-lavfi",
         f"[0:v][1:v]libvmaf=feature=name=psnr:log_fmt=json:log_path={log}", "-f", "null", "-"],
        check=True,
    )  # fmt: skip
    report: dict[str, Any] = json.loads(log.read_text())
    return report
