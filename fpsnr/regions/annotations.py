"""Regions from what users already have: eye fixations, COCO boxes, segmentation masks.

Each reader returns :class:`~fpsnr.regions.model.Regions` (one per image), written by
the commands as one collection file (``{"images": [...]}``, SPEC §2).

**Fixations** (:func:`regions_from_points`): at most ``max_regions`` discs of the default
radius, each placed where it holds the most fixations not yet held (candidate centres on a
grid of R/8, R the default radius, the fixations within R of each counted exactly;
duration-weighted when durations are given), then moved to the mean of the fixations it
holds when that holds at least as many; stop when a disc would add less than ``min_share``
of all fixations. Each region's ``strength`` is the share it adds, counted for the centre
as written (to 0.1 px). On the 250 eye-tracked scenes of ``../shared/data/fixations`` the
first 3 discs hold 72.7 % of the fixations, the greedy oracle with discs on fixation points 69.7 %
(``scripts/fixation_agreement.py``). Formats: a CSV with the columns ``image, x, y`` and
optionally ``duration`` (or ``duration_s``), ``subject``, ``width``, ``height``; SALICON's
COCO-style JSON (``images`` with ``id, file_name, width, height``; ``annotations`` with
``image_id`` and ``fixations`` as 1-based ``[row, col]``); MIT1003/CAT2000 fixation maps
(an image whose bright pixels — above half its peak, so JPEG ringing does not count — are
the fixations; the image it belongs to is the map's name without a ``_fixPts`` or
``_fixMap`` ending).

**COCO boxes** (:func:`regions_from_coco`): a disc at each box's centre, radius
√(w·h)/2 — half the side of the square of the box's area — clamped to [R/2, 2R]; crowd
annotations left out; the ``max_regions`` largest boxes per image.

**Masks** (:func:`regions_from_mask`): one disc per segment (each non-zero label, or each
distinct non-black colour; with ``connected`` each 8-connected blob of non-zero pixels) at
its deepest interior point — the maximum of the Euclidean distance to the segment's edge
or the frame's, so a ring or an L gets its disc inside, never in a hole — the
``max_regions`` largest segments, the default radius.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.errors import RegionsError
from fpsnr.limits import MAX_TEXT_BYTES, read_text
from fpsnr.regions.model import (
    DEFAULT_FOVEAL_ANGLE,
    DEFAULT_VIEWING_DISTANCE,
    Region,
    Regions,
    default_radius,
)

__all__ = [
    "read_fixation_csv",
    "read_salicon",
    "regions_from_coco",
    "regions_from_mask",
    "regions_from_points",
]

_GRID = 8  # candidate centres on a grid of R / 8
Fixations = dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], tuple[int, int] | None]]
"""Per image name: points (n, 2) as (x, y), weights (n,), and (width, height) when known."""


def regions_from_points(
    points: npt.ArrayLike,
    width: int,
    height: int,
    *,
    weights: npt.ArrayLike | None = None,
    max_regions: int = 5,
    min_share: float = 0.05,
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE,
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE,
    image_name: str | None = None,
    label: str = "fixation",
) -> Regions:
    """Discs that hold the most fixations (x, y in pixels), greedily; see the module notes."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    wts = np.ones(len(pts)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(wts) != len(pts) or not (np.isfinite(pts).all() and np.isfinite(wts).all() and (wts >= 0).all()):
        raise RegionsError("fixations need finite coordinates and one finite non-negative weight each")
    keep = (pts[:, 0] > -0.5) & (pts[:, 0] < width - 0.5) & (pts[:, 1] > -0.5) & (pts[:, 1] < height - 0.5)
    pts, wts = pts[keep], wts[keep]  # fixations off the picture (tracker noise) hold nothing
    radius = default_radius(width, height, viewing_distance=viewing_distance, foveal_angle=foveal_angle)
    total = float(wts.sum())
    if total <= 0:
        raise RegionsError(f"{image_name or 'image'}: no fixation lies on the {width}×{height} picture")
    step = max(1.0, radius / _GRID)
    grid_x = (np.arange(math.ceil(width / step)) + 0.5) * step - 0.5
    grid_y = (np.arange(math.ceil(height / step)) + 0.5) * step - 0.5
    candidates = np.stack(np.meshgrid(grid_x, grid_y), axis=-1).reshape(-1, 2)
    left = np.ones(len(pts), dtype=bool)
    regions: list[Region] = []
    while len(regions) < max_regions and left.any():
        held = _held(candidates, pts[left], wts[left], radius)
        x, y = candidates[int(np.argmax(held))]  # the first of equals, row by row: deterministic
        inside = left & ((pts[:, 0] - x) ** 2 + (pts[:, 1] - y) ** 2 <= radius * radius)
        if wts[inside].sum() > 0:  # the mean of what it holds, when that holds as much
            mx, my = np.average(pts[inside], axis=0, weights=wts[inside])
            moved = left & ((pts[:, 0] - mx) ** 2 + (pts[:, 1] - my) ** 2 <= radius * radius)
            if wts[moved].sum() >= wts[inside].sum():
                x, y = float(mx), float(my)
        # the disc as written (to 0.1 px) is the one whose fixations are held and counted
        centre = (round(float(x), 1), round(float(y), 1))
        inside = left & ((pts[:, 0] - centre[0]) ** 2 + (pts[:, 1] - centre[1]) ** 2 <= radius * radius)
        share = float(wts[inside].sum()) / total
        if regions and share < min_share:
            break
        regions.append(
            Region(centre, label=f"{label}-{len(regions) + 1}", strength=round(min(share, 1.0), 4))
        )
        left &= ~inside
    return Regions(tuple(regions), width=width, height=height, image=image_name)


def _held(
    candidates: npt.NDArray[np.float64],
    pts: npt.NDArray[np.float64],
    wts: npt.NDArray[np.float64],
    radius: float,
) -> npt.NDArray[np.float64]:
    """The weight of the fixations within ``radius`` of each candidate centre, counted exactly."""
    out = np.empty(len(candidates))
    chunk = max(1, (1 << 22) // max(1, len(pts)))  # about 4 M distances at a time
    for start in range(0, len(candidates), chunk):
        part = candidates[start : start + chunk]
        d2 = np.subtract.outer(part[:, 0], pts[:, 0]) ** 2
        d2 += np.subtract.outer(part[:, 1], pts[:, 1]) ** 2
        out[start : start + chunk] = (d2 <= radius * radius) @ wts
    return out


def _text(path: str | os.PathLike[str], noun: str) -> str:
    return read_text(path, MAX_TEXT_BYTES, RegionsError, noun=noun, expected=f"a {noun}")


def _finite(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RegionsError(f"{where}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise RegionsError(f"{where}: expected a finite number, got {value!r}")
    return number


def read_fixation_csv(path: str | os.PathLike[str], *, drop_first: bool = False) -> Fixations:
    """Fixations from a CSV with the columns ``image, x, y`` [``duration``, ``width``, ``height``, …].

    ``x`` is the column and ``y`` the row, 0-based pixels; ``duration`` (or ``duration_s``)
    weights a fixation; ``width`` and ``height``, when present, are the image's size.
    ``drop_first`` leaves out the rows whose ``order`` is 1: each trial's first fixation,
    on the central cross eye-tracking trials start on (the NUS and MIT sets' convention).
    """
    reader = csv.DictReader(io.StringIO(_text(path, "fixations file"), newline=""))
    names = [n.strip() for n in reader.fieldnames or []]
    missing = [n for n in ("image", "x", "y") if n not in names]
    if missing:
        raise RegionsError(
            f"{path}: line 1: the header lacks {', '.join(missing)} (columns: image, x, y, and optionally "
            "duration, width, height, subject)"
        )
    if drop_first and "order" not in names:
        raise RegionsError(f"{path}: line 1: leaving out first fixations needs an order column")
    duration = next((n for n in ("duration", "duration_s") if n in names), None)
    sized = "width" in names and "height" in names
    points: dict[str, list[tuple[float, float]]] = {}
    weights: dict[str, list[float]] = {}
    sizes: dict[str, tuple[int, int]] = {}
    reader.fieldnames = names
    for line, row in enumerate(reader, start=2):
        where = f"{path}: line {line}"
        image = (row.get("image") or "").strip()
        if not image:
            raise RegionsError(f"{where}: column image is empty")
        if drop_first and (row.get("order") or "").strip() == "1":
            continue
        x, y = _finite(row.get("x"), f"{where}, column x"), _finite(row.get("y"), f"{where}, column y")
        weight = _finite(row.get(duration), f"{where}, column {duration}") if duration else 1.0
        if weight < 0:
            raise RegionsError(f"{where}, column {duration}: a duration cannot be negative, got {weight:g}")
        points.setdefault(image, []).append((x, y))
        weights.setdefault(image, []).append(weight)
        if sized:
            size = (
                _size(row.get("width"), f"{where}, column width"),
                _size(row.get("height"), f"{where}, column height"),
            )
            if sizes.setdefault(image, size) != size:
                raise RegionsError(
                    f"{where}: {image} was {sizes[image][0]}×{sizes[image][1]} on an earlier line"
                )
    if not points:
        raise RegionsError(f"{path}: the file has no fixations, only a header")
    return {name: (np.asarray(points[name]), np.asarray(weights[name]), sizes.get(name)) for name in points}


def _size(value: Any, where: str) -> int:
    number = _finite(value, where)
    if number != int(number) or number < 1:
        raise RegionsError(f"{where}: expected a positive whole number of pixels, got {value!r}")
    return int(number)


def read_salicon(path: str | os.PathLike[str]) -> Fixations:
    """Fixations from SALICON's COCO-style JSON (1-based ``[row, col]`` per fixation)."""
    document, images = _coco_document(path, "fixations file", "SALICON's JSON")
    points: dict[str, list[tuple[float, float]]] = {}
    for n, ann in enumerate(document["annotations"]):
        where = f"{path}: $.annotations[{n}]"
        if not isinstance(ann, dict) or ann.get("image_id") not in images:
            raise RegionsError(f"{where}: expected an object whose image_id is one of the images")
        fixations = ann.get("fixations")
        if not isinstance(fixations, list):
            raise RegionsError(f"{where}.fixations: expected a list of [row, col]")
        name = images[ann["image_id"]][0]
        for k, pair in enumerate(fixations):
            if not isinstance(pair, list) or len(pair) != 2:
                raise RegionsError(f"{where}.fixations[{k}]: expected [row, col] (1-based), got {pair!r}")
            row, col = (_finite(v, f"{where}.fixations[{k}]") for v in pair)
            points.setdefault(name, []).append((col - 1.0, row - 1.0))
    if not points:
        raise RegionsError(f"{path}: no annotation holds a fixation")
    sizes = dict(images.values())
    return {name: (np.asarray(p), np.ones(len(p)), sizes[name]) for name, p in points.items()}


def _coco_document(
    path: str | os.PathLike[str], noun: str, expected: str
) -> tuple[dict[str, Any], dict[Any, tuple[str, tuple[int, int]]]]:
    """A COCO-style JSON file (SALICON's fixations, instances): the document and its images by id."""
    try:
        document = json.loads(_text(path, noun))
    except json.JSONDecodeError as err:
        raise RegionsError(
            f"{path}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}"
        ) from err
    if not isinstance(document, dict) or not isinstance(document.get("annotations"), list):
        raise RegionsError(f"{path}: expected {expected}, an object with 'images' and 'annotations'")
    return document, _coco_images(document, path)


def _coco_images(
    document: Mapping[str, Any], path: str | os.PathLike[str]
) -> dict[Any, tuple[str, tuple[int, int]]]:
    images = document.get("images")
    if not isinstance(images, list):
        raise RegionsError(f"{path}: $.images: expected a list of {{id, file_name, width, height}}")
    out = {}
    for n, entry in enumerate(images):
        where = f"{path}: $.images[{n}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("file_name"), str) or "id" not in entry:
            raise RegionsError(f"{where}: expected an object with id, file_name, width and height")
        out[entry["id"]] = (
            entry["file_name"],
            (_size(entry.get("width"), f"{where}.width"), _size(entry.get("height"), f"{where}.height")),
        )
    return out


def read_fixation_map(path: str | os.PathLike[str]) -> tuple[npt.NDArray[np.float64], tuple[int, int]]:
    """The fixations of a MIT1003/CAT2000 fixation map: its non-zero pixels, and its size."""
    from fpsnr.images.io import read_image

    pixels = np.asarray(read_image(path), dtype=np.float64)
    if pixels.ndim == 3:
        pixels = pixels.max(axis=2)
    peak = float(pixels.max()) if pixels.size else 0.0
    if not peak > 0:
        raise RegionsError(f"{path}: the fixation map has no non-zero pixel")
    rows, cols = np.nonzero(pixels > peak / 2)  # above half the peak: JPEG ringing is not a fixation
    return np.stack([cols, rows], axis=1).astype(np.float64), (pixels.shape[1], pixels.shape[0])


def regions_from_coco(
    path: str | os.PathLike[str],
    *,
    categories: Iterable[str] | None = None,
    max_regions: int = 5,
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE,
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE,
) -> list[Regions]:
    """One :class:`Regions` per image of a COCO instances file that has a kept box."""
    document, images = _coco_document(path, "COCO file", "a COCO instances file")
    names = {c.get("id"): str(c.get("name")) for c in document.get("categories") or [] if isinstance(c, dict)}
    wanted = None if categories is None else set(categories)
    if wanted is not None and not wanted <= set(names.values()):
        unknown = ", ".join(sorted(wanted - set(names.values())))
        raise RegionsError(
            f"{path}: no category named {unknown}; the file has {', '.join(sorted(set(names.values())))}"
        )
    boxes: dict[Any, list[tuple[float, float, float, float, str]]] = {}
    for n, ann in enumerate(document["annotations"]):
        where = f"{path}: $.annotations[{n}]"
        if not isinstance(ann, dict) or ann.get("image_id") not in images:
            raise RegionsError(f"{where}: expected an object whose image_id is one of the images")
        category = names.get(ann.get("category_id"), str(ann.get("category_id")))
        if ann.get("iscrowd") or (wanted is not None and category not in wanted):
            continue
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise RegionsError(f"{where}.bbox: expected [x, y, width, height]")
        x, y, w, h = (_finite(v, f"{where}.bbox") for v in bbox)
        if w <= 0 or h <= 0:
            raise RegionsError(f"{where}.bbox: a box needs a positive width and height, got {w:g}×{h:g}")
        boxes.setdefault(ann["image_id"], []).append((x, y, w, h, f"{category}-{ann.get('id', n)}"))
    out = []
    for image_id, found in boxes.items():
        name, (width, height) = images[image_id]
        radius = default_radius(width, height, viewing_distance=viewing_distance, foveal_angle=foveal_angle)
        regions = []
        for x, y, w, h, label in sorted(found, key=lambda b: -b[2] * b[3])[:max_regions]:
            r = min(max(math.sqrt(w * h) / 2, radius / 2), 2 * radius)
            regions.append(Region((x + w / 2 - 0.5, y + h / 2 - 0.5), radius=round(r, 2), label=label))
        out.append(Regions(tuple(regions), width=width, height=height, image=name))
    return out


def regions_from_mask(
    mask: npt.ArrayLike,
    *,
    connected: bool = False,
    max_regions: int = 5,
    image_name: str | None = None,
) -> Regions:
    """One default-radius disc per segment of a label or binary mask, at its deepest interior point."""
    arr = np.asarray(mask)
    if arr.ndim == 3:  # a colour mask: each distinct colour one label
        flat = arr.reshape(-1, arr.shape[2]).astype(np.int64)
        _, labels = np.unique(flat, axis=0, return_inverse=True)
        black = np.flatnonzero(~flat.any(axis=1))
        labels = labels.reshape(arr.shape[:2]) + 1
        if len(black):
            labels[labels == labels.reshape(-1)[black[0]]] = 0
        arr = labels
    if arr.ndim != 2 or arr.size == 0:
        raise RegionsError(f"{image_name or 'mask'}: expected a 2-D label mask, got shape {np.shape(mask)}")
    if connected:
        _, arr = cv2.connectedComponents((arr != 0).astype(np.uint8), connectivity=8)
    height, width = arr.shape
    segments = [(int((arr == v).sum()), int(v)) for v in np.unique(arr) if v != 0]
    if not segments:
        raise RegionsError(f"{image_name or 'mask'}: the mask has no segment (every pixel is 0)")
    regions: list[Region] = []
    for _, value in sorted(segments, key=lambda s: (-s[0], s[1]))[:max_regions]:
        inside = np.pad((arr == value).astype(np.uint8), 1)  # the frame's edge is an edge too
        depth = cv2.distanceTransform(inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
        row, col = divmod(int(np.argmax(depth)), width)
        label = f"segment-{value}" if not connected else f"segment-{len(regions) + 1}"
        regions.append(Region((float(col), float(row)), label=label))
    return Regions(tuple(regions), width=width, height=height, image=image_name)


def write_collection(entries: Iterable[Regions], out: str | os.PathLike[str]) -> int:
    """Write ``entries`` as one collection file (``{"images": [...]}``); the number written."""
    from fpsnr.files import atomic_open

    items = [entry.to_dict() for entry in entries]
    with atomic_open(out, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"images": items}, indent=1, ensure_ascii=False) + "\n")
    return len(items)


def image_size(folder: Path | None, name: str) -> tuple[int, int]:
    """The size of image ``name`` in ``folder`` (from its header), for fixation lists without one."""
    if folder is None:
        raise RegionsError(f"no size for {name}: give width and height columns, or the folder of the images")
    from fpsnr.images.io import image_size as stored_size

    return stored_size(folder / name)
