"""Foveal regions: discs around the points a viewer fixates, and their JSON files.

Coordinates are pixels, 0-based, x to the right (column), y down (row), a pixel's
centre at its integer coordinates (SPEC §1). Pixel (x, y) belongs to the disc of
centre (xc, yc) and radius R iff ``(x - xc)**2 + (y - yc)**2 <= R**2`` evaluated in
float64; centres and radii may be fractional.

A regions file (SPEC §2) records the width and height its coordinates refer to::

    {"image": "kodim23.png", "width": 768, "height": 512,
     "regions": [{"label": "parrot-left", "center": [262.0, 210.5], "radius": 70},
                 {"label": "parrot-right", "center": [505, 236]}]}

``label`` and ``radius`` are optional, and so is a free-text ``note`` on the file or a
region; any other key is an error (a misspelt ``raduis`` is never silently ignored).
A collection file ``{"images": [{...}, {...}]}`` holds several images, matched to
image files by the stem of their ``image`` field.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.datasets import resolve_regions
from fpsnr.errors import RegionsError
from fpsnr.files import atomic_open
from fpsnr.limits import MAX_TEXT_BYTES, read_capped

__all__ = [
    "DEFAULT_FOVEAL_ANGLE",
    "DEFAULT_VIEWING_DISTANCE",
    "Disc",
    "Region",
    "RegionIndex",
    "Regions",
    "RegionsLike",
    "check_radius_settings",
    "default_radius",
    "disc_has_pixel",
    "disc_mask",
    "load_region_index",
    "load_regions",
    "parse_regions",
]

DEFAULT_VIEWING_DISTANCE = 3.0
"""Viewing distance v in picture heights (the usual distance for HD viewing)."""
DEFAULT_FOVEAL_ANGLE = 5.0
"""Foveal angle θ in degrees (the diameter of the fovea)."""

MAX_FILE_BYTES = MAX_TEXT_BYTES
MAX_REGIONS = 100_000
MAX_SIDE = 1 << 20
MAX_COORD = float(1 << 24)
"""Largest |x|, |y| of a centre and largest radius, in pixels (16 × the largest side).

Anything farther is a mistake, not a region; the bound also keeps every squared
distance exact enough and far from overflow (F4, F5 of the November campaign).
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
    """

    center: tuple[float, float]
    radius: float | None = None
    label: str | None = None

    def __post_init__(self) -> None:
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
        if self.label is not None and not isinstance(self.label, str):
            raise RegionsError(f"region label must be a string, got {self.label!r}")


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
            items.append(item)
        out["regions"] = items
        return out

    def dump(self, path: str | os.PathLike[str]) -> None:
        """Write this image's regions as a SPEC §2 JSON file (UTF-8)."""
        with atomic_open(path, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(self.to_dict(), indent=2) + "\n")


# --------------------------------------------------------------------------- pixels


def _bounds(centre: float, radius: float, size: int) -> tuple[int, int]:
    """Index range [lo, hi) that holds every pixel of a disc along one axis.

    One pixel wider than the real disc on each side, so float rounding of the
    membership test can never reach outside it; the mask decides exactly.
    """
    lo = centre - radius
    hi = centre + radius
    start = 0 if lo <= 0 else (size if lo >= size else math.floor(lo))
    stop = size if hi >= size - 2 else (0 if hi < 0 else math.floor(hi) + 2)
    return start, max(start, stop)


def _disc_window_uncached(
    x: float, y: float, radius: float, height: int, width: int
) -> tuple[slice, slice, npt.NDArray[np.uint8], int]:
    y0, y1 = _bounds(y, radius, height)
    x0, x1 = _bounds(x, radius, width)
    dy = np.arange(y0, y1, dtype=np.float64) - y
    dx = np.arange(x0, x1, dtype=np.float64) - x
    # (x − xc)² + (y − yc)² ≤ R², in float64, exactly as SPEC §1 defines membership.
    inside = np.less_equal(np.add.outer(dy * dy, dx * dx), radius * radius).view(np.uint8)
    pixels = cv2.countNonZero(inside) if inside.size else 0
    return slice(y0, y1), slice(x0, x1), inside, pixels


_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class BoundedCache(Generic[_K, _V]):
    """A least-recently-used cache bounded in bytes, safe to share between threads.

    ``get(key, make, *args)`` returns the stored value or ``make(*args)``, stored; a value
    larger than ``1/share`` of the budget is returned without being stored, so one huge
    item never empties the cache. Used for exact disc masks (here and in
    :mod:`fpsnr.torch`): the same regions are scored against many test images (rate
    points, codecs, Fp sweeps), and building an exact mask costs more than summing under
    it. Keys hold the disc geometry and the frame size, so a hit is the identical mask.
    """

    def __init__(self, max_bytes: int, size_of: Callable[[_V], int], *, share: int = 8) -> None:
        self._items: OrderedDict[_K, _V] = OrderedDict()
        self._bytes = 0
        self._max = max_bytes
        self._size_of = size_of
        self._share = share
        self._lock = threading.Lock()

    def get(self, key: _K, make: Callable[..., _V], *args: Any) -> _V:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        value = make(*args)
        size = self._size_of(value)
        if size <= self._max // self._share:
            with self._lock:
                if key not in self._items:
                    self._items[key] = value
                    self._bytes += size
                while self._bytes > self._max:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= self._size_of(old)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


_Window = tuple[slice, slice, npt.NDArray[np.uint8], int]
_windows: BoundedCache[tuple[float, float, float, int, int], _Window] = BoundedCache(
    64 << 20, lambda window: window[2].nbytes
)


def disc_window(disc: Disc, height: int, width: int) -> _Window:
    """The disc's bounding box, its exact 0/1 membership mask there, and its pixels."""
    key = (disc.x, disc.y, disc.radius, height, width)
    return _windows.get(key, _disc_window_uncached, *key)


def disc_mask(shape: tuple[int, ...], center: tuple[float, float], radius: float) -> npt.NDArray[np.bool_]:
    """Full-frame 0/1 mask M_Φ of the disc Φ (SPEC §1), clipped to the image.

    Parameters
    ----------
    shape : tuple
        Image shape; only the first two entries (H, W) are used.
    center : (float, float)
        Disc centre (x, y) in pixels, x the column and y the row.
    radius : float
        Disc radius R in pixels.

    Returns
    -------
    numpy.ndarray of bool, shape (H, W)
        True where (x − xc)² + (y − yc)² ≤ R².
    """
    height, width = int(shape[0]), int(shape[1])
    region = Region(center=center, radius=radius)  # the same checks as every region
    disc = Disc(x=region.center[0], y=region.center[1], radius=float(radius), label="")
    rows, cols, inside, _ = _disc_window_uncached(disc.x, disc.y, disc.radius, height, width)
    mask = np.zeros((height, width), dtype=bool)
    mask[rows, cols] = inside.view(bool)
    return mask


def disc_has_pixel(disc: Disc, height: int, width: int) -> bool:
    """Whether the disc holds at least one pixel of a ``height`` × ``width`` frame.

    Constant work whatever the sizes: the frame's pixel nearest the centre is the
    nearest integer along each axis, clamped to the frame, and the disc holds a pixel
    iff it holds that one (the same float64 test as :func:`disc_mask`).
    """
    px = float(min(max(round(disc.x), 0), width - 1))
    py = float(min(max(round(disc.y), 0), height - 1))
    dx, dy = px - disc.x, py - disc.y
    return bool(dy * dy + dx * dx <= disc.radius * disc.radius)


RegionIndex = dict[str, Regions]
"""The regions of many images, keyed by image file stem (``load_region_index``)."""
RegionsLike = Regions | Sequence[Region]
"""What the metric takes for one image: a file's :class:`Regions` (scaled to the
image), or plain :class:`Region` objects in the image's own pixels."""


def _plain_number(v: float) -> int | float:
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)


# --------------------------------------------------------------------------- parsing


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (JSON would keep the last one silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice in one object; keep one")
        out[key] = value
    return out


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RegionsError(f"{where}: expected a number, got {_type_name(value)} {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise RegionsError(f"{where}: expected a finite number, got {value!r}")
    if abs(number) > MAX_COORD:
        raise RegionsError(f"{where}: {value!r} is beyond the limit of {MAX_COORD:,.0f} pixels")
    return number


def _check_keys(obj: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise RegionsError(
            f"{where}: unknown key {unknown[0]!r}; allowed keys are {', '.join(sorted(allowed))}"
        )


def _side(obj: Mapping[str, Any], key: str, where: str) -> int:
    if key not in obj:
        raise RegionsError(
            f"{where}: missing {key!r}; record the {key} of the image the coordinates refer to"
        )
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SIDE:
        raise RegionsError(f"{where}.{key}: expected a positive integer of pixels, got {value!r}")
    return value


def _parse_region(obj: Any, where: str) -> Region:
    if not isinstance(obj, dict):
        raise RegionsError(f"{where}: expected an object with 'center', got {_type_name(obj)}")
    _check_keys(obj, ("center", "radius", "label", "note"), where)
    if "center" not in obj:
        raise RegionsError(f"{where}: missing 'center' ([x, y] in pixels)")
    center = obj["center"]
    if not isinstance(center, list) or len(center) != 2:
        raise RegionsError(f"{where}.center: expected [x, y], got {center!r}")
    x = _number(center[0], f"{where}.center[0]")
    y = _number(center[1], f"{where}.center[1]")
    radius = None
    if obj.get("radius") is not None:
        radius = _number(obj["radius"], f"{where}.radius")
        if radius <= 0:
            raise RegionsError(f"{where}.radius: expected a positive number of pixels, got {obj['radius']!r}")
    label = obj.get("label")
    if label is not None and not isinstance(label, str):
        raise RegionsError(f"{where}.label: expected a string, got {_type_name(label)}")
    return Region(center=(x, y), radius=radius, label=label)


def _parse_image(obj: Any, where: str, source: str | None) -> Regions:
    if not isinstance(obj, dict):
        raise RegionsError(f"{where}: expected an object with 'regions', got {_type_name(obj)}")
    _check_keys(obj, ("image", "width", "height", "regions", "note"), where)
    image = obj.get("image")
    if image is not None and not isinstance(image, str):
        raise RegionsError(f"{where}.image: expected a file name, got {_type_name(image)}")
    width = _side(obj, "width", where)
    height = _side(obj, "height", where)
    items = obj.get("regions")
    if not isinstance(items, list):
        raise RegionsError(f"{where}.regions: expected an array of regions, got {_type_name(items)}")
    if not items:
        raise RegionsError(f"{where}.regions: is empty; add at least one region")
    if len(items) > MAX_REGIONS:
        raise RegionsError(f"{where}.regions: {len(items)} regions, more than the limit of {MAX_REGIONS}")
    regions = tuple(_parse_region(item, f"{where}.regions[{i}]") for i, item in enumerate(items))
    return Regions(regions=regions, width=width, height=height, image=image, source=source)


def parse_regions(document: Any, *, source: str | None = None) -> list[Regions]:
    """Validate a decoded regions JSON document (single-image or collection form).

    Returns one :class:`Regions` per image. Errors name ``source`` and the JSON path
    (``$.regions[1].center``) of the offending value.
    """
    prefix = f"{source}: $" if source else "$"
    if isinstance(document, dict) and "images" in document:
        _check_keys(document, ("images", "note"), prefix)
        images = document["images"]
        if not isinstance(images, list) or not images:
            raise RegionsError(f"{prefix}.images: expected a non-empty array of image objects")
        out = []
        seen: dict[str, str] = {}
        for i, obj in enumerate(images):
            where = f"{prefix}.images[{i}]"
            entry = _parse_image(obj, where, source)
            if entry.image is None:
                raise RegionsError(f"{where}: missing 'image' (the file name these regions belong to)")
            stem = Path(entry.image).stem
            if stem in seen:
                raise RegionsError(
                    f"{where}.image: {entry.image!r} and {seen[stem]!r} are the same image to fpsnr "
                    "(images match by file stem); keep one entry"
                )
            seen[stem] = entry.image
            out.append(entry)
        return out
    return [_parse_image(document, prefix, source)]


def _read_document(path: Path) -> Any:
    if path.is_dir():
        raise RegionsError(f"{path}: is a folder, expected a regions JSON file")
    # bounded while reading: pipes and devices too
    data = read_capped(
        path, MAX_FILE_BYTES, RegionsError, noun="regions file", expected="a regions JSON file"
    )
    if data is None:
        raise RegionsError(f"{path}: larger than the {MAX_FILE_BYTES}-byte limit for regions files")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RegionsError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as err:
        raise RegionsError(
            f"{path}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}"
        ) from err
    except (ValueError, RecursionError) as err:
        raise RegionsError(f"{path}: invalid JSON: {err}") from err


def load_regions(path: str | os.PathLike[str], *, image: str | None = None) -> Regions:
    """Read and validate the regions of one image from a JSON file.

    Parameters
    ----------
    path : str or path-like
        A single-image regions file, a collection file, or a folder of single-image
        files; or the name of a shipped set (``"kodak"``, see :mod:`fpsnr.datasets`).
    image : str, optional
        With a collection file: the image whose regions to return, matched by file
        stem (``kodim23.png`` and ``kodim23`` both match ``"image": "kodim23.png"``).

    Raises
    ------
    RegionsError
        The file is missing, not JSON, fails validation, or ``image`` is not in it.
    """
    p = resolve_regions(path)
    if p.is_dir():
        if image is None:
            index = load_region_index(p)
            if len(index) == 1:
                return next(iter(index.values()))
            raise RegionsError(f"{p}: holds regions of {len(index)} images; say which image to use")
        stem = Path(image).stem
        file = p / f"{stem}.json"  # only the image's own file is read, as load_region_index keys it
        if not file.is_file():
            raise RegionsError(f"{p}: no regions file for image {stem!r} ({stem}.json)")
        return _folder_entry(file)
    entries = parse_regions(_read_document(p), source=str(p))
    if image is None:
        if len(entries) == 1:
            return entries[0]
        raise RegionsError(f"{p}: holds regions of {len(entries)} images; say which image to use")
    stem = Path(image).stem
    for entry in entries:
        if entry.image is None or Path(entry.image).stem == stem:
            return entry
    if len(entries) == 1:
        own = Path(entries[0].image or "").stem
        raise RegionsError(
            f"{p}: holds the regions of {entries[0].image}, not of {stem!r}; to use them for this image, "
            f"delete the file's \"image\" key or pass --regions-image {own}"
        )
    held = ", ".join(e.image or "?" for e in entries[:4]) + (", …" if len(entries) > 4 else "")
    raise RegionsError(f"{p}: no regions for image {stem!r} (it holds {held}); pass --regions-image NAME")


def _folder_entry(file: Path) -> Regions:
    """The one image of a file in a regions folder."""
    entries = parse_regions(_read_document(file), source=str(file))
    if len(entries) != 1:
        raise RegionsError(f"{file}: a regions folder holds one image per file; found a collection")
    return entries[0]


def load_region_index(path: str | os.PathLike[str]) -> RegionIndex:
    """Regions of many images, keyed by image file stem.

    ``path`` may be a folder of single-image files (``kodim23.json`` holds the regions
    of ``kodim23.png``), a collection file, a single-image file (keyed by its
    ``image`` field, or by its own stem when that is absent), or the name of a shipped
    set (``"kodak"``, see :mod:`fpsnr.datasets`).
    """
    p = resolve_regions(path)
    index: RegionIndex = {}
    if p.is_dir():
        for file in sorted(p.glob("*.json")):
            index[file.stem] = _folder_entry(file)
        if not index:
            raise RegionsError(f"{p}: folder holds no .json regions files")
        return index
    entries = parse_regions(_read_document(p), source=str(p))
    for entry in entries:
        stem = Path(entry.image).stem if entry.image is not None else p.stem
        if stem in index:
            raise RegionsError(f"{p}: image {stem!r} appears twice")
        index[stem] = entry
    return index


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
        items = tuple(regions)
        for item in items:
            if not isinstance(item, Region):
                raise RegionsError(f"expected fpsnr.Region objects, got {type(item).__name__}")
        if not items:
            raise RegionsError("no regions given; pass at least one fpsnr.Region")
        regions = Regions(regions=items, width=width, height=height)
    return regions.resolve(width, height, viewing_distance=viewing_distance, foveal_angle=foveal_angle)
