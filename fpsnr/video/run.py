"""Scoring a video pair from files: open both, check they match, regions per frame, stream.

:func:`iter_video` yields each frame's sums and values as it is read (two frame buffers
in memory, whatever the length); :func:`score_video` pools them and writes the
per-frame and per-region CSVs if asked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal

from fpsnr.errors import RegionsError, VideoError
from fpsnr.files import check_path
from fpsnr.regions.discs import require_pixels
from fpsnr.regions.model import Disc, Region, Regions, RegionsLike, as_discs
from fpsnr.regions.tracks import RegionTimeline
from fpsnr.video.measure import FrameScore, FrameSums, FrameWindows, VideoOptions, measure_frame, score_frame
from fpsnr.video.output import FrameCsv, frame_columns, frame_row, region_columns, region_rows
from fpsnr.video.pool import SequencePool, VideoSummary
from fpsnr.video.source import Frame, VideoFormat, VideoReader, open_video
from fpsnr.video.suggest import SuggestedRegions

__all__ = ["VideoRegions", "iter_video", "score_video"]

VideoRegions = RegionsLike | RegionTimeline | SuggestedRegions | Literal["center", "suggest"] | None
"""Regions of a video: one set for every frame, a timeline, proposals per frame, or the centre (None)."""
MissingRegions = Literal["error", "center", "suggest"]


def _check_match(ref: VideoReader, dist: VideoReader) -> None:
    a, b = ref.format, dist.format
    if (a.width, a.height) != (b.width, b.height):
        raise VideoError(
            f"{dist.path}: frames are {b.width}×{b.height}; {ref.path} has {a.width}×{a.height} "
            "(scale one to the other's size first)"
        )
    if (a.chroma, a.bit_depth) != (b.chroma, b.bit_depth):
        raise VideoError(
            f"{dist.path}: is {b.pix_fmt}; {ref.path} is {a.pix_fmt} "
            f"(convert one, e.g. ffmpeg -pix_fmt {a.pix_fmt})"
        )


def _frames_to_score(ref: VideoReader, dist: VideoReader, frames: int | None, skip: int) -> int | None:
    """How many frames the run will score when both counts are known up front (else None)."""
    known = [r.frames for r in (ref, dist) if r.frames is not None]
    if ref.frames is not None and dist.frames is not None and ref.frames != dist.frames and frames is None:
        raw = "raw" in (ref.kind, dist.kind)
        raise VideoError(
            f"{dist.path}: has {dist.frames} frames; {ref.path} has {ref.frames}"
            + (
                f" as {ref.format.describe()} (if one file is not, {{pix_fmt}} or {{size}} is wrong for it)"
                if raw
                else ""
            )
            + f"; score the frames both have with {{frames}}{min(ref.frames, dist.frames) - skip}"
        )
    if known:
        left = min(known) - skip
        if left <= 0:
            raise VideoError(f"{ref.path}: has {min(known)} frames, none left after skipping {skip}")
        if frames is not None and frames > left:
            raise VideoError(f"{ref.path}: {frames} frames asked but only {left} left after skipping {skip}")
        return frames if frames is not None else left
    return frames


class _Discs:
    """Each frame's discs: static, from a timeline, or the centre; the missing-regions policy."""

    def __init__(
        self, regions: VideoRegions, fmt: VideoFormat, options: VideoOptions, missing: MissingRegions
    ) -> None:
        self.fmt = fmt
        self.options = options
        self.missing = missing
        self.timeline = regions if isinstance(regions, RegionTimeline) else None
        self.suggested = regions if isinstance(regions, SuggestedRegions) else None
        if regions == "suggest":
            self.suggested = SuggestedRegions(
                viewing_distance=options.viewing_distance, foveal_angle=options.foveal_angle
            )
        self.fallback: SuggestedRegions | None = None
        self.static: tuple[Disc, ...] | None = None
        if self.timeline is None and self.suggested is None:
            if isinstance(regions, (str, bytes, os.PathLike)) and regions != "center":
                raise RegionsError(
                    "video regions must be Regions, Region objects, a RegionTimeline, 'center' or 'suggest', "
                    f"got {regions!r} "
                    "(fpsnr.regions.tracks.load_video_regions(path) reads a file)"
                )
            self.static = self._resolve(self._center() if regions in (None, "center") else regions)  # type: ignore[arg-type]

    def _center(self) -> Regions:
        w, h = self.fmt.width, self.fmt.height
        return Regions(
            regions=(Region(center=((w - 1) / 2, (h - 1) / 2), label="center"),), width=w, height=h
        )

    def _resolve(self, regions: RegionsLike) -> tuple[Disc, ...]:
        o = self.options
        discs = as_discs(
            regions,
            self.fmt.width,
            self.fmt.height,
            viewing_distance=o.viewing_distance,
            foveal_angle=o.foveal_angle,
        )
        require_pixels(discs, self.fmt.height, self.fmt.width)
        return discs

    def at(self, index: int, frame: Frame) -> tuple[Disc, ...]:
        if self.static is not None:
            return self.static
        if self.suggested is not None:
            return self._resolve(self.suggested.at(frame.y))
        assert self.timeline is not None
        found = self.timeline.at(index)
        if found is None:
            if self.missing == "center":
                return self._resolve(self._center())
            if self.missing == "suggest":
                if self.fallback is None:  # one tracker for the frames without regions, smoothed over them
                    o = self.options
                    self.fallback = SuggestedRegions(
                        viewing_distance=o.viewing_distance, foveal_angle=o.foveal_angle
                    )
                return self._resolve(self.fallback.at(frame.y))
            raise RegionsError(
                f"{self.timeline.source or 'the track'}: frame {index} has no regions; give it some, "
                "or choose "
                "{missing_regions}"
            )
        try:
            return self._resolve(found)
        except RegionsError as err:
            raise type(err)(f"frame {index}: {err}") from err


def iter_video(
    ref: str | os.PathLike[str],
    dist: str | os.PathLike[str],
    regions: VideoRegions = None,
    options: VideoOptions | None = None,
    *,
    size: tuple[int, int] | None = None,
    pix_fmt: str | None = None,
    frames: int | None = None,
    skip: int = 0,
    missing_regions: MissingRegions = "error",
    opened: Callable[[VideoFormat, int | None], Any] | None = None,
) -> Iterator[tuple[FrameSums, FrameScore]]:
    """Each frame's sums and values, as the two sequences are read.

    ``size`` and ``pix_fmt`` describe raw inputs (both files); ``skip`` frames are passed
    over first, then ``frames`` (default: all) are scored; frame numbers (and a
    timeline's) count from the start of the files. ``opened(format, count)`` is called
    once both are open, before the first frame (count None when not known up front).
    """
    opts = options or VideoOptions()
    check_path("ref", ref, VideoError)
    check_path("dist", dist, VideoError)
    for name, value in (("frames", frames), ("skip", skip)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < (name == "frames")
        ):
            raise VideoError(f"{name} must be a whole number ≥ {int(name == 'frames')}, got {value!r}")
    with ExitStack() as stack:
        a = stack.enter_context(open_video(ref, size=size, pix_fmt=pix_fmt))
        b = stack.enter_context(open_video(dist, size=size, pix_fmt=pix_fmt))
        _check_match(a, b)
        count = _frames_to_score(a, b, frames, skip)
        fmt = a.format
        discs = _Discs(regions, fmt, opts, missing_regions)
        windows = FrameWindows(fmt)
        if skip:
            passed = (a.skip(skip), b.skip(skip))
            if min(passed) < skip:
                short = a if passed[0] < skip else b
                raise VideoError(f"{short.path}: has {min(passed)} frames, none left after skipping {skip}")
        if opened is not None:
            opened(fmt, count)
        index = skip
        done = 0
        while frames is None or done < frames:
            fa, fb = a.read(), b.read()
            if fa is None or fb is None:
                if fa is None and fb is None and frames is None:
                    break
                ended, other = (a, b) if fa is None else (b, a)
                raise VideoError(
                    f"{ended.path}: ends after {index} frames"
                    + ("" if frames is not None else f" and {other.path} goes on")
                    + f"; score the frames both have with {{frames}}{max(index - skip, 1)}"
                    + (f" after {{skip}}{skip}" if skip else "")
                )
            sums = measure_frame(index, fa, fb, discs.at(index, fa), windows)
            yield sums, score_frame(sums, fmt, opts)
            index += 1
            done += 1
        if done == 0:
            raise VideoError(f"{a.path}: holds no frame to score")


def score_video(
    ref: str | os.PathLike[str],
    dist: str | os.PathLike[str],
    regions: VideoRegions = None,
    options: VideoOptions | None = None,
    *,
    size: tuple[int, int] | None = None,
    pix_fmt: str | None = None,
    frames: int | None = None,
    skip: int = 0,
    missing_regions: MissingRegions = "error",
    frames_csv: str | os.PathLike[str] | None = None,
    regions_csv: str | os.PathLike[str] | None = None,
    on_frame: Callable[[FrameScore], Any] | None = None,
) -> VideoSummary:
    """Score DIST against REF frame by frame and pool the sequence (SPEC §7).

    Parameters
    ----------
    ref, dist : path
        Y4M, raw planar (``size`` and ``pix_fmt``, both files alike), or any file ffmpeg
        decodes.
    regions : Regions, RegionTimeline, SuggestedRegions, "suggest" or "center"
        One set for every frame (a regions file's, scaled to the frame size), a timeline
        (:func:`fpsnr.regions.tracks.load_timeline`, :func:`~fpsnr.regions.tracks.load_mot`),
        proposals from each frame's luma smoothed over time (:mod:`fpsnr.video.suggest`;
        ``"suggest"`` with its defaults), or one default-radius disc at the centre (the default).
    options : VideoOptions
        Combined rule, peak convention, ``max_db`` cap, Fps and the default radius.
    frames, skip : int
        Score ``frames`` frames after passing ``skip``.
    missing_regions : {"error", "center", "suggest"}
        A frame the timeline gives no regions: refused, one disc at the centre, or the
        proposals of :mod:`fpsnr.video.suggest` (smoothed over the frames without regions).
    frames_csv, regions_csv : path, optional
        Write one row per frame (and per disc per frame), crash-safe: rows go to
        ``<file>.partial`` as they are scored, the file appears complete or not at all,
        and a lock refuses a second writer.
    on_frame : callable, optional
        Called with each frame's :class:`~fpsnr.video.measure.FrameScore`.

    Returns
    -------
    VideoSummary
        Every value under both poolings (``mean_db`` and ``pooled``), and per region label.
    """
    opts = options or VideoOptions()
    pool: SequencePool | None = None
    with ExitStack() as stack:
        frame_out = region_out = None
        if frames_csv is not None:
            frame_out = stack.enter_context(FrameCsv(Path(frames_csv), frame_columns(opts)))
        if regions_csv is not None:
            region_out = stack.enter_context(FrameCsv(Path(regions_csv), region_columns()))

        def opened(fmt: VideoFormat, count: int | None) -> None:
            nonlocal pool
            pool = SequencePool(fmt, opts)

        stream = iter_video(
            ref,
            dist,
            regions,
            opts,
            size=size,
            pix_fmt=pix_fmt,
            frames=frames,
            skip=skip,
            missing_regions=missing_regions,
            opened=opened,
        )
        for sums, score in stream:
            assert pool is not None
            pool.add(sums, score)
            if frame_out is not None:
                frame_out.write(frame_row(score, opts))
            if region_out is not None:
                region_out.write_many(region_rows(score))
            if on_frame is not None:
                on_frame(score)
        for out in (frame_out, region_out):
            if out is not None:
                out.finish()
    assert pool is not None
    return pool.summary()
