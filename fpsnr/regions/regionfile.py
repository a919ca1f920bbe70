"""Regions files (SPEC §2): parsing with JSON-path messages, loading one image or an index.

A regions file records the width and height its coordinates refer to::

    {"image": "kodim23.png", "width": 768, "height": 512,
     "regions": [{"label": "parrot-left", "center": [262.0, 210.5], "radius": 70},
                 {"label": "parrot-right", "center": [505, 236]}]}

``label`` and ``radius`` are optional, and so are a proposal's ``strength`` (a number in
[0, 1] that ``fpsnr regions suggest`` writes; scoring ignores it) and a free-text ``note``
on the file or a region; any other key is an error (a misspelt ``raduis`` is never silently ignored).
A collection file ``{"images": [{...}, {...}]}`` holds several images, matched to
image files by the stem of their ``image`` field.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fpsnr.errors import RegionsError
from fpsnr.files import check_path
from fpsnr.limits import MAX_TEXT_BYTES, read_text
from fpsnr.regions.model import MAX_COORD, Region, RegionIndex, Regions
from fpsnr.regions.shipped import REGION_SETS, resolve_regions

__all__ = ["load_region_index", "load_regions", "parse_regions"]

MAX_FILE_BYTES = MAX_TEXT_BYTES
MAX_REGIONS = 100_000
MAX_SIDE = 1 << 20


def _shipped_hint(path: str | os.PathLike[str]) -> str:
    """For a local path named like a shipped set: how the shipped set is reached."""
    name = Path(path).name
    if name in REGION_SETS and not (isinstance(path, str) and path == name):
        return f" (the folder {Path(path).absolute()}; the shipped {name} regions are the bare name '{name}')"
    return ""


# --------------------------------------------------------------------------- parsing


_MAX_INT_DIGITS = 30


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _bounded_int(digits: str) -> int:
    # Python refuses > 4,300 digits with advice to raise sys.set_int_max_str_digits(); no size,
    # coordinate or radius needs more than a few, so say that instead.
    if len(digits.lstrip("-")) > _MAX_INT_DIGITS:
        raise ValueError(
            f"the integer {digits[:12]}… has {len(digits.lstrip('-')):,} digits; "
            "sizes, centres and radii are pixel counts"
        )
    return int(digits)


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
        names = ", ".join(repr(k) for k in unknown)
        hints = [f"{old} as {new}" for old, new, keys in (
            ("x and y", '"center": [x, y]', {"x", "y"}), ("r", '"radius"', {"r"}),
        ) if keys <= set(unknown) and "center" in allowed]  # fmt: skip
        hint = f" (write {' and '.join(hints)})" if hints else ""
        raise RegionsError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {names}{hint}; "
            f"allowed keys are {', '.join(sorted(allowed))}"
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


def _radius(obj: Mapping[str, Any], where: str) -> float | None:
    """The optional positive ``radius`` of a region (or a track) object."""
    if obj.get("radius") is None:
        return None
    radius = _number(obj["radius"], f"{where}.radius")
    if radius <= 0:
        raise RegionsError(f"{where}.radius: expected a positive number of pixels, got {obj['radius']!r}")
    return radius


def _parse_region(obj: Any, where: str) -> Region:
    if not isinstance(obj, dict):
        raise RegionsError(f"{where}: expected an object with 'center', got {_type_name(obj)}")
    _check_keys(obj, ("center", "radius", "label", "strength", "note"), where)
    if "center" not in obj:
        raise RegionsError(f"{where}: missing 'center' ([x, y] in pixels)")
    center = obj["center"]
    if not isinstance(center, list) or len(center) != 2:
        raise RegionsError(f"{where}.center: expected [x, y], got {center!r}")
    x = _number(center[0], f"{where}.center[0]")
    y = _number(center[1], f"{where}.center[1]")
    radius = _radius(obj, where)
    strength = None
    if obj.get("strength") is not None:
        strength = _number(obj["strength"], f"{where}.strength")
        if not 0.0 <= strength <= 1.0:
            raise RegionsError(f"{where}.strength: expected a number in [0, 1], got {obj['strength']!r}")
    label = obj.get("label")
    if label is not None and not isinstance(label, str):
        raise RegionsError(f"{where}.label: expected a string, got {_type_name(label)}")
    return Region(center=(x, y), radius=radius, label=label, strength=strength)


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
    text = read_text(path, MAX_FILE_BYTES, RegionsError, noun="regions file", expected="a regions JSON file")
    try:
        return json.loads(
            text, parse_constant=_reject_constant, parse_int=_bounded_int, object_pairs_hook=_unique_keys
        )
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
        files; or the name of a shipped set (``"kodak"``, see :mod:`fpsnr.regions.shipped`).
    image : str, optional
        With a collection file: the image whose regions to return, matched by file
        stem (``kodim23.png`` and ``kodim23`` both match ``"image": "kodim23.png"``).

    Raises
    ------
    RegionsError
        The file is missing, not JSON, fails validation, or ``image`` is not in it.
    """
    check_path("path", path, RegionsError)
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
            raise RegionsError(f"{p}: no regions file for image {stem!r} ({stem}.json){_shipped_hint(path)}")
        return _folder_entry(file)
    return pick_regions(parse_regions(_read_document(p), source=str(p)), p, image)


def pick_regions(entries: list[Regions], p: Path, image: str | None) -> Regions:
    """The entry of a parsed regions file for ``image`` (by file stem), as :func:`load_regions` picks it."""
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
            f'delete the file\'s "image" key or pass {{regions_image}}{own}'
        )
    held = ", ".join(e.image or "?" for e in entries[:4]) + (", …" if len(entries) > 4 else "")
    raise RegionsError(f"{p}: no regions for image {stem!r} (it holds {held}); pass {{regions_image}}NAME")


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
    set (``"kodak"``, see :mod:`fpsnr.regions.shipped`).
    """
    p = resolve_regions(path)
    index: RegionIndex = {}
    if p.is_dir():
        for file in sorted(p.glob("*.json")):
            index[file.stem] = _folder_entry(file)
        if not index:
            raise RegionsError(f"{p}: folder holds no .json regions files{_shipped_hint(path)}")
        return index
    entries = parse_regions(_read_document(p), source=str(p))
    for entry in entries:
        stem = Path(entry.image).stem if entry.image is not None else p.stem
        if stem in index:
            raise RegionsError(f"{p}: image {stem!r} appears twice")
        index[stem] = entry
    return index
