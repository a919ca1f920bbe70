"""Regions that move: per-frame regions and keyframed tracks for video (README, "Regions over time").

A track file records the frame size its coordinates refer to, like a regions file
(SPEC §2), and scales to the video's size the same way. Two forms, which may be mixed::

    {"width": 176, "height": 144,
     "tracks": [{"label": "face", "radius": 24,
                 "keyframes": [{"frame": 0, "center": [88, 60]},
                               {"frame": 30, "center": [96, 58], "radius": 28}]}],
     "frames": {"12": [{"label": "hand", "center": [40, 100]}]}}

A track exists from its first keyframe to its last (never extrapolated); between two
keyframes its centre and radius are interpolated linearly in the frame number. A
keyframe's radius falls back to the track's ``radius``, then to the default radius;
two neighbouring keyframes must agree on having an explicit radius or not. ``frames``
lists regions frame by frame (0-based frame numbers as keys), held for that frame only.
A frame with neither has no regions, and the caller's missing-regions policy decides.

MOTChallenge-style CSV (``frame,id,bb_left,bb_top,bb_width,bb_height,conf,…``; 1-based
frames, rows with ``conf`` 0 ignored, as the MOT ground truth marks them) is read by
:func:`load_mot`: each box becomes a disc at its centre with the box's area
(r = √(w·h/π)), labelled by its id, in the video's own pixels.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fpsnr.errors import RegionsError
from fpsnr.files import check_path
from fpsnr.limits import MAX_TEXT_BYTES, read_text
from fpsnr.regions.model import MAX_COORD, Region, Regions, RegionsLike
from fpsnr.regions.regionfile import (
    MAX_REGIONS,
    _check_keys,
    _parse_region,
    _radius,
    _read_document,
    _side,
    _type_name,
    load_regions,
    parse_regions,
    pick_regions,
)
from fpsnr.regions.shipped import resolve_regions

__all__ = [
    "MAX_FRAME",
    "RegionTimeline",
    "Track",
    "load_mot",
    "load_timeline",
    "load_video_regions",
    "parse_timeline",
]

MAX_FRAME = 1 << 31
"""Largest frame number a track file may name."""


@dataclass(frozen=True)
class Keyframe:
    frame: int
    center: tuple[float, float]
    radius: float | None


@dataclass(frozen=True)
class Track:
    """One region followed over frames: keyframes in increasing frame order."""

    label: str
    keyframes: tuple[Keyframe, ...]
    _frames: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_frames", tuple(k.frame for k in self.keyframes))

    def at(self, frame: int) -> Region | None:
        """The track's region at ``frame`` (interpolated), or None outside its keyframes."""
        keys = self.keyframes
        if frame < keys[0].frame or frame > keys[-1].frame:
            return None
        i = bisect.bisect_right(self._frames, frame) - 1  # keys[i].frame ≤ frame
        a = keys[i]
        if a.frame == frame:
            return Region(center=a.center, radius=a.radius, label=self.label)
        b = keys[i + 1]
        t = (frame - a.frame) / (b.frame - a.frame)
        x = a.center[0] + t * (b.center[0] - a.center[0])
        y = a.center[1] + t * (b.center[1] - a.center[1])
        r = None if a.radius is None or b.radius is None else a.radius + t * (b.radius - a.radius)
        return Region(center=(x, y), radius=r, label=self.label)


@dataclass(frozen=True)
class RegionTimeline:
    """The regions of every frame of a video: tracks and per-frame lists, in one frame size.

    ``width`` and ``height`` are the frame size the coordinates refer to; None (MOT boxes)
    means the video's own pixels, unscaled.
    """

    width: int | None
    height: int | None
    tracks: tuple[Track, ...] = ()
    frames: Mapping[int, tuple[Region, ...]] = field(default_factory=dict)
    source: str | None = None

    def at(self, frame: int) -> RegionsLike | None:
        """The regions of ``frame`` (tracks first, then that frame's own list), or None.

        A :class:`Regions` that scales to the video's size, or (no size recorded) plain
        regions in the video's pixels.
        """
        found = [r for r in (t.at(frame) for t in self.tracks) if r is not None]
        found.extend(self.frames.get(frame, ()))
        if not found:
            return None
        if self.width is None or self.height is None:
            return tuple(found)
        return Regions(regions=tuple(found), width=self.width, height=self.height, source=self.source)

    @property
    def last_frame(self) -> int:
        """The last frame any region is given for (−1 if none)."""
        ends = [t.keyframes[-1].frame for t in self.tracks] + list(self.frames)
        return max(ends, default=-1)


def _frame_number(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_FRAME:
        raise RegionsError(f"{where}: expected a frame number (a whole number ≥ 0), got {value!r}")
    return value


def _parse_track(obj: Any, where: str, n: int) -> Track:
    if not isinstance(obj, dict):
        raise RegionsError(f"{where}: expected an object with 'keyframes', got {_type_name(obj)}")
    _check_keys(obj, ("label", "radius", "keyframes", "note"), where)
    label = obj.get("label", f"track-{n}")
    if not isinstance(label, str):
        raise RegionsError(f"{where}.label: expected a string, got {_type_name(label)}")
    default = _radius(obj, where)
    items = obj.get("keyframes")
    if not isinstance(items, list) or not items:
        raise RegionsError(f"{where}.keyframes: expected a non-empty array of keyframes")
    if len(items) > MAX_REGIONS:
        raise RegionsError(f"{where}.keyframes: {len(items)} keyframes, more than the limit of {MAX_REGIONS}")
    keys: list[Keyframe] = []
    for i, item in enumerate(items):
        at = f"{where}.keyframes[{i}]"
        if not isinstance(item, dict):
            raise RegionsError(f"{at}: expected an object with 'frame' and 'center', got {_type_name(item)}")
        _check_keys(item, ("frame", "center", "radius", "note"), at)
        if "frame" not in item:
            raise RegionsError(f"{at}: missing 'frame' (the 0-based frame number)")
        frame = _frame_number(item["frame"], f"{at}.frame")
        region = _parse_region({k: v for k, v in item.items() if k != "frame"}, at)
        radius = region.radius if region.radius is not None else default
        if keys and frame <= keys[-1].frame:
            raise RegionsError(
                f"{at}.frame: {frame} does not come after the keyframe before it ({keys[-1].frame})"
            )
        if keys and (radius is None) != (keys[-1].radius is None):
            raise RegionsError(
                f"{at}: has {'no' if radius is None else 'an explicit'} radius and the keyframe before it "
                f"{'has one' if radius is None else 'has none'}; give both a radius or neither"
            )
        keys.append(Keyframe(frame, region.center, radius))
    return Track(label=label, keyframes=tuple(keys))


def parse_timeline(document: Any, *, source: str | None = None) -> RegionTimeline:
    """Validate a decoded track document (``tracks`` and/or ``frames``), errors naming the JSON path."""
    prefix = f"{source}: $" if source else "$"
    if not isinstance(document, dict):
        raise RegionsError(
            f"{prefix}: expected an object with 'tracks' or 'frames', got {_type_name(document)}"
        )
    _check_keys(document, ("video", "width", "height", "tracks", "frames", "note"), prefix)
    if "tracks" not in document and "frames" not in document:
        raise RegionsError(f"{prefix}: holds neither 'tracks' nor 'frames'; see the README's track format")
    width = _side(document, "width", prefix)
    height = _side(document, "height", prefix)
    tracks = document.get("tracks", [])
    if not isinstance(tracks, list):
        raise RegionsError(f"{prefix}.tracks: expected an array of tracks, got {_type_name(tracks)}")
    parsed = tuple(_parse_track(t, f"{prefix}.tracks[{i}]", i + 1) for i, t in enumerate(tracks))
    frames_obj = document.get("frames", {})
    if not isinstance(frames_obj, dict):
        raise RegionsError(f"{prefix}.frames: expected an object of frame number → regions")
    frames: dict[int, tuple[Region, ...]] = {}
    for key, items in frames_obj.items():
        where = f"{prefix}.frames[{key!r}]"
        if not key.isdigit() or int(key) >= MAX_FRAME:
            raise RegionsError(f'{where}: keys are 0-based frame numbers ("0", "12"), got {key!r}')
        if not isinstance(items, list) or not items:
            raise RegionsError(f"{where}: expected a non-empty array of regions")
        frames[int(key)] = tuple(_parse_region(item, f"{where}[{i}]") for i, item in enumerate(items))
    return RegionTimeline(width=width, height=height, tracks=parsed, frames=frames, source=source)


def load_timeline(path: str | os.PathLike[str]) -> RegionTimeline:
    """Read a track file (JSON, this module's format); MOT CSVs are read by :func:`load_mot`."""
    check_path("path", path, RegionsError)
    return parse_timeline(_read_document(Path(path)), source=str(path))


def is_timeline(document: Any) -> bool:
    """Whether a decoded regions document is a track file rather than an image's regions."""
    return isinstance(document, dict) and ("tracks" in document or "frames" in document)


def load_mot(path: str | os.PathLike[str]) -> RegionTimeline:
    """Boxes of a MOTChallenge CSV as a timeline in the video's own pixels."""
    check_path("path", path, RegionsError)
    text = read_text(path, MAX_TEXT_BYTES, RegionsError, noun="MOT file", expected="a MOT CSV file")
    frames: dict[int, list[Region]] = {}
    count = 0
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip():
            continue
        where = f"{path}: line {line}"
        if len(row) < 6:
            raise RegionsError(
                f"{where}: expected frame,id,bb_left,bb_top,bb_width,bb_height[,conf…], got {len(row)} fields"
            )
        try:
            frame, ident = int(row[0]), row[1].strip()
            left, top, w, h = (float(v) for v in row[2:6])
            conf = float(row[6]) if len(row) > 6 and row[6].strip() else 1.0
        except ValueError:
            if line == 1:
                continue  # a header row
            raise RegionsError(f"{where}: frame must be a whole number and the box four numbers") from None
        if conf == 0:
            continue
        if frame < 1 or frame >= MAX_FRAME:
            raise RegionsError(f"{where}: frame {frame}; MOT frames count from 1")
        if not all(math.isfinite(v) for v in (left, top, w, h)) or w <= 0 or h <= 0:
            raise RegionsError(f"{where}: the box needs finite corners and a positive width and height")
        if max(abs(left), abs(top), w, h) > MAX_COORD:
            raise RegionsError(f"{where}: the box is farther than {MAX_COORD:,.0f} px from the origin")
        count += 1
        if count > MAX_REGIONS * 100:
            raise RegionsError(f"{path}: more than {MAX_REGIONS * 100:,} boxes")
        centre = (left + w / 2 - 0.5, top + h / 2 - 0.5)  # the box spans pixels [left, left + w)
        radius = math.sqrt(w * h / math.pi)
        frames.setdefault(frame - 1, []).append(Region(center=centre, radius=radius, label=f"id-{ident}"))
    if not frames:
        raise RegionsError(f"{path}: holds no box")
    return RegionTimeline(
        width=None, height=None, frames={k: tuple(v) for k, v in frames.items()}, source=str(path)
    )


def load_video_regions(path: str | os.PathLike[str], *, image: str | None = None) -> Regions | RegionTimeline:
    """Regions for a video from a file: MOT boxes (``.csv``/``.txt``), a track file, or an image's regions.

    A regions file (SPEC §2, or a shipped set's name) gives the same regions to every
    frame; ``image`` picks an entry of a collection as :func:`~fpsnr.regions.regionfile.load_regions` does.
    """
    check_path("path", path, RegionsError)
    p = Path(path)
    if p.suffix.lower() in (".csv", ".txt"):
        return load_mot(p)
    p = resolve_regions(path)  # a shipped set's bare name means the set, as in load_regions
    if p.is_file():
        document = _read_document(p)  # read once: a track file, or an image's regions
        if is_timeline(document):
            return parse_timeline(document, source=str(p))
        return pick_regions(parse_regions(document, source=str(p)), p, image)
    return load_regions(path, image=image)  # a folder or a shipped set's name
