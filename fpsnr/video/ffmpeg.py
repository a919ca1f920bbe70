"""Decoding containers through a real ffmpeg: which binary, and its Y4M stream on a pipe.

The ffmpeg is ``FPSNR_FFMPEG``, else ``ffmpeg`` on ``PATH``, else the static binary of
the ``imageio-ffmpeg`` wheel (the ``video`` extra). It decodes the first video stream to
Y4M with ``-xerror``, so a stream it cannot decode cleanly is an error with ffmpeg's own
reason, never concealed frames scored; :mod:`fpsnr.video.source` parses what it sends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

from fpsnr.errors import VideoError
from fpsnr.files import open_regular
from fpsnr.video.source import _Y4M_MAGIC, VideoReader, _read_line, _y4m_format

__all__ = ["ffmpeg_reader", "find_ffmpeg"]


def find_ffmpeg() -> str | None:
    """The ffmpeg binary to decode with: ``FPSNR_FFMPEG``, ``ffmpeg`` on PATH, or imageio-ffmpeg's."""
    chosen = os.environ.get("FPSNR_FFMPEG")
    if chosen:
        return chosen
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:
        return None


def ffmpeg_reader(path: str, closer: contextlib.ExitStack) -> VideoReader:
    exe = find_ffmpeg()
    if exe is None:
        raise VideoError(
            f"{path}: not Y4M or raw .yuv, and reading it needs ffmpeg; install ffmpeg (apt install ffmpeg) "
            "or pip install 'fpsnr[video]'"
        )
    if not Path(path).is_file():
        with open_regular(path, VideoError, noun="video", expected="a video file"):
            pass  # (says what it is: missing, a folder, a device)
    import tempfile  # (only for inputs that go through ffmpeg)

    log = closer.enter_context(tempfile.TemporaryFile())
    command = [
        exe,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-xerror",  # a decoding error stops ffmpeg (and is reported), never a concealed frame scored
        "-i",
        path,
        "-map",
        "0:v:0",
        "-f",
        "yuv4mpegpipe",
        "-strict",
        "-1",
        "pipe:1",
    ]
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
    except OSError as err:
        raise VideoError(f"{path}: cannot run ffmpeg {exe} ({err.strerror or err})") from err

    def stop() -> None:
        if process.poll() is None:
            process.kill()
        process.wait()

    closer.callback(stop)
    assert process.stdout is not None
    stdout = closer.enter_context(process.stdout)
    def why() -> str:
        process.wait()
        log.seek(0)
        said = [x for x in log.read().decode("utf-8", "replace").splitlines() if x.strip()]
        return said[-1].strip() if said else f"ffmpeg exited with status {process.returncode}"

    def ended() -> None:  # at the end of the stream: did ffmpeg finish, or fail part-way?
        if process.wait() != 0:
            raise VideoError(f"{path}: ffmpeg stopped decoding it part-way ({why()}); nothing was scored")

    line = _read_line(stdout, path)
    if line is None or not line.startswith(_Y4M_MAGIC):
        raise VideoError(f"{path}: ffmpeg cannot decode it as planar YUV video ({why()})")
    fmt = _y4m_format(line, path)
    reader = VideoReader(path, fmt, stdout, framed=True, frames=None, closer=closer, kind="ffmpeg")
    reader.ended = ended
    return reader
