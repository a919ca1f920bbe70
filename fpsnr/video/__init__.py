"""Foveal PSNR for video: Y4M, raw and ffmpeg-decoded sequences scored on their native planes.

:func:`score_video` scores a pair frame by frame and pools the sequence under both
rules (SPEC §7); :func:`iter_video` streams the frames' values; regions are static,
keyframed tracks or MOT boxes (:mod:`fpsnr.regions.tracks`). Reading containers other
than Y4M and raw ``.yuv`` needs ffmpeg (on PATH, or the ``video`` extra's imageio-ffmpeg).
"""

from __future__ import annotations

from fpsnr.video.ffmpeg import find_ffmpeg
from fpsnr.video.measure import PEAKS, RULES, FrameScore, VideoOptions
from fpsnr.video.pool import VideoSummary
from fpsnr.video.run import iter_video, score_video
from fpsnr.video.source import VideoFormat, open_video

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
