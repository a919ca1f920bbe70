"""Foveal regions: discs around the points a viewer fixates, and the default radius.

Coordinates are pixels, 0-based, x to the right (column), y down (row), a pixel's
centre at its integer coordinates (SPEC §1). Pixel (x, y) belongs to the disc of
centre (xc, yc) and radius R iff ``(x - xc)**2 + (y - yc)**2 <= R**2`` evaluated in
float64; centres and radii may be fractional. A :class:`Regions` records the image size
its coordinates refer to and resolves to :class:`Disc` objects in any image's pixels.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fpsnr.errors import RegionsError
from fpsnr.files import atomic_open

__all__ = [
    "DEFAULT_FOVEAL_ANGLE",
    "DEFAULT_VIEWING_DISTANCE",
    "MAX_COORD",
    "Disc",
    "Region",
    "RegionIndex",
    "Regions",
    "RegionsLike",
    "as_discs",
    "check_radius_settings",
    "default_radius",
]

DEFAULT_VIEWING_DISTANCE = 3.0
"""Viewing distance v in picture heights (the usual distance for HD viewing)."""
DEFAULT_FOVEAL_ANGLE = 5.0
"""Foveal angle θ in degrees (the diameter of the fovea)."""
MAX_COORD = float(1 << 24)
"""Largest |x|, |y| of a centre and largest radius, in pixels (16 × the largest side).

Anything farther is a mistake, not a region; the bound also keeps every squared
distance exact enough and far from overflow.
"""


MAX_FOVEAL_ANGLE = 180.0
"""θ must lie in (0, 180) degrees: tan(θ/2) grows without bound towards 180°."""


def check_radius_settings(viewing_distance: float, foveal_angle: float) -> None:
    """Check v > 0 and θ ∈ (0, 180) degrees, the settings of the default radius."""
    if not (math.isfinite(viewing_distance) and viewing_distance > 0):
        raise RegionsError(f"viewing distance must be a positive number, got {viewing_distance}")
    if not (math.isfinite(foveal_angle) and 0 < foveal_angle < MAX_FOVEAL_ANGLE):
        raise RegionsError(f"foveal angle must be in (0, 180) degrees, got {foveal_angle}")


def default_radius(
    width: int,
    height: int,
    *,
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE,
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE,
) -> float:
    """Resolution-scaled default radius R = v · S · tan(θ/2) in pixels.

    S = min(H, W) is the picture height, v the viewing distance in picture heights and
    θ the foveal angle in degrees. On Kodak (768×512) with v = 3, θ = 5° this is
    3 · 512 · tan(2.5°) ≈ 67.06 px.
    """
    check_radius_settings(viewing_distance, foveal_angle)
    if not (width > 0 and height > 0):
        raise RegionsError(f"image size must be positive, got {width}×{height}")
    return viewing_distance * min(width, height) * math.tan(math.radians(foveal_angle) / 2)


@dataclass(frozen=True)
class Region:
    """One foveal region Φ_j: a disc around a fixated point.

    Parameters
    ----------
    center : (float, float)
        Centre (x, y) in pixels: x the column, y the row, 0-based.
    radius : float, optional
        Radius in pixels; ``None`` uses the resolution-scaled default radius.
    label : str, optional
        Name shown in reports; ``None`` becomes ``region-<n>`` (1-based).
    strength : float, optional
        How strong a proposal is, in [0, 1]: for ``fpsnr regions suggest``, the share of
        its fixation map the region adds (:mod:`fpsnr.regions.proposals`). Not used in
        scoring.
    """

    center: tuple[float, float]
    radius: float | None = None
    label: str | None = None
    strength: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.center, (str, bytes)):  # "12" iterated is the centre (1, 2): refuse
            raise RegionsError(f"region centre must be two numbers (x, y), got {self.center!r}")
        try:
            x, y = (float(v) for v in self.center)
        except (TypeError, ValueError) as err:
            raise RegionsError(f"region centre must be two numbers (x, y), got {self.center!r}") from err
        if not (math.isfinite(x) and math.isfinite(y)):
            raise RegionsError(f"region centre must be finite, got ({x}, {y})")
        if abs(x) > MAX_COORD or abs(y) > MAX_COORD:
            raise RegionsError(
                f"region centre ({x:g}, {y:g}) is farther than {MAX_COORD:,.0f} px from the origin"
            )
        object.__setattr__(self, "center", (x, y))
        if self.radius is not None:
            r = float(self.radius)
            if not (math.isfinite(r) and r > 0):
                raise RegionsError(f"region radius must be a positive finite number, got {self.radius}")
            if r > MAX_COORD:
                raise RegionsError(f"region radius {r:g} is larger than the limit of {MAX_COORD:,.0f} px")
            object.__setattr__(self, "radius", r)
        if self.strength is not None:
            if isinstance(self.strength, bool) or not isinstance(self.strength, (int, float)) or not (
                0.0 <= self.strength <= 1.0
            ):
                raise RegionsError(f"region strength must be a number in [0, 1], got {self.strength!r}")
            object.__setattr__(self, "strength", float(self.strength))
        if self.label is not None and not isinstance(self.label, str):
            raise RegionsError(f"region label must be a string, got {self.label!r}")
        if (self.label is not None and not self.label.isprintable()) or _unpaired(self.label):
            raise RegionsError(
                f"region label {self.label!r} holds a control character or an unpaired surrogate; "
                "labels are printable text"
            )


def _unpaired(label: str | None) -> bool:
    """A lone UTF-16 surrogate (valid JSON, not text): no output could write it."""
    if label is None:
        return False
    try:
        label.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class Disc(NamedTuple):
    """A region resolved to the pixels of one image: centre, radius and label fixed.

    A named tuple rather than a dataclass: many are made per scored pair.
    """

    x: float
    y: float
    radius: float
    label: str


@dataclass(frozen=True)
class Regions:
    """The regions of one image, with the size their coordinates refer to.

    ``width`` and ``height`` are the image size the coordinates were written for; an
    image of another size with the same aspect ratio is scored with centres and
    explicit radii scaled (SPEC §1, resolution scaling).
    """

    regions: tuple[Region, ...]
    width: int
    height: int
    image: str | None = None
    source: str | None = field(default=None, compare=False)
    """The file these regions came from, for messages."""

    def resolve(
        self,
        width: int,
        height: int,
        *,
        viewing_distance: float = DEFAULT_VIEWING_DISTANCE,
        foveal_angle: float = DEFAULT_FOVEAL_ANGLE,
    ) -> tuple[Disc, ...]:
        """Discs in the pixels of a ``width`` × ``height`` image.

        Centres map with the pixel-centre convention, x' = (x + 0.5)·sx − 0.5, so the
        same point of the picture is meant at every resolution; explicit radii scale by
        min(W, H) / min(w, h), the same factor as the default radius. A different
        aspect ratio (beyond one pixel of rounding) is an error.
        """
        where = f"{self.source}: " if self.source else ""
        if (width, height) == (self.width, self.height):
            sx = sy = sr = 1.0
        else:
            sx, sy = width / self.width, height / self.height
            if abs(sx / sy - 1.0) > 1.0 / min(self.width, self.height) + 1.0 / min(width, height):
                raise RegionsError(
                    f"{where}regions were written for {self.width}×{self.height} but the image is "
                    f"{width}×{height}, a different aspect ratio; write regions for this size"
                )
            sr = min(width, height) / min(self.width, self.height)
        r_default = default_radius(
            width, height, viewing_distance=viewing_distance, foveal_angle=foveal_angle
        )
        discs = []
        for n, region in enumerate(self.regions, start=1):
            x, y = region.center
            if sx != 1.0 or sy != 1.0:
                x, y = (x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5
            r = r_default if region.radius is None else region.radius * sr
            discs.append(Disc(x=x, y=y, radius=r, label=region.label or f"region-{n}"))
        return tuple(discs)

    def to_dict(self) -> dict[str, Any]:
        """The SPEC §2 JSON object of this image."""
        out: dict[str, Any] = {}
        if self.image is not None:
            out["image"] = self.image
        out["width"] = self.width
        out["height"] = self.height
        items = []
        for region in self.regions:
            item: dict[str, Any] = {}
            if region.label is not None:
                item["label"] = region.label
            item["center"] = [_plain_number(v) for v in region.center]
            if region.radius is not None:
                item["radius"] = _plain_number(region.radius)
            if region.strength is not None:
                item["strength"] = _plain_number(region.strength)
            items.append(item)
        out["regions"] = items
        return out

    def dump(self, path: str | os.PathLike[str]) -> None:
        """Write this image's regions as a SPEC §2 JSON file (UTF-8)."""
        with atomic_open(path, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(self.to_dict(), indent=2) + "\n")


RegionIndex = dict[str, Regions]
"""The regions of many images, keyed by image file stem (``load_region_index``)."""
RegionsLike = Regions | Sequence[Region]
"""What the metric takes for one image: a file's :class:`Regions` (scaled to the
image), or plain :class:`Region` objects in the image's own pixels."""


def _plain_number(v: float) -> int | float:
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)


def as_discs(
    regions: RegionsLike,
    width: int,
    height: int,
    *,
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE,
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE,
) -> tuple[Disc, ...]:
    """Resolve regions for an image.

    A :class:`Regions` scales to the image size; a plain sequence of :class:`Region`
    is taken in the image's own pixels.
    """
    if not isinstance(regions, Regions):
        if isinstance(regions, (str, bytes, os.PathLike)) or not isinstance(regions, Iterable):
            raise RegionsError(
                f"regions must be fpsnr.Region objects or a Regions (fpsnr.load_regions(path) reads a "
                f"file), got {type(regions).__name__}"
            )
        items = tuple(regions)
        for item in items:
            if not isinstance(item, Region):
                raise RegionsError(f"expected fpsnr.Region objects, got {type(item).__name__}")
        if not items:
            raise RegionsError("no regions given; pass at least one fpsnr.Region")
        regions = Regions(regions=items, width=width, height=height)
    return regions.resolve(width, height, viewing_distance=viewing_distance, foveal_angle=foveal_angle)
