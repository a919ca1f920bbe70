"""Foveal PSNR for video: Y4M, raw and ffmpeg-decoded sequences scored on their native planes.

:func:`score_video` scores a pair frame by frame and pools the sequence under both
rules (SPEC §7); :func:`iter_video` streams the frames' values; regions are static,
keyframed tracks or MOT boxes (:mod:`fpsnr.regions.tracks`). Reading containers other
than Y4M and raw ``.yuv`` needs ffmpeg (on PATH, or the ``video`` extra's imageio-ffmpeg).

Each name is imported from its module on first use, as :mod:`fpsnr`'s are: scoring raw
and Y4M files never loads the ffmpeg runner (``subprocess`` and ``shutil``, 7–8 ms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fpsnr._lazy import lazy_names

if TYPE_CHECKING:
    from fpsnr.video.ffmpeg import find_ffmpeg
    from fpsnr.video.measure import PEAKS, RULES, FrameScore, VideoOptions
    from fpsnr.video.pool import VideoSummary
    from fpsnr.video.run import iter_video, score_video
    from fpsnr.video.source import VideoFormat, open_video

__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "find_ffmpeg": "fpsnr.video.ffmpeg",
        "PEAKS": "fpsnr.video.measure", "RULES": "fpsnr.video.measure",
        "FrameScore": "fpsnr.video.measure", "VideoOptions": "fpsnr.video.measure",
        "VideoSummary": "fpsnr.video.pool",
        "iter_video": "fpsnr.video.run", "score_video": "fpsnr.video.run",
        "VideoFormat": "fpsnr.video.source", "open_video": "fpsnr.video.source",
    },
)  # fmt: skip

__all__ = [
    "PEAKS",
    "RULES",
    "FrameScore",
    "VideoFormat",
    "VideoOptions",
    "VideoSummary",
    "find_ffmpeg",
    "iter_video",
    "open_video",
    "score_video",
]
