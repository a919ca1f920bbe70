"""Exact sums of squared errors of one plane pair: the frame, each disc, and the periphery.

uint8 and uint16 planes are summed as integers, float planes in float64. Each disc's
work stays on its bounding box; the periphery is the frame total minus the union of
the discs (for integer planes, where that subtraction is exact) or summed directly
under a periphery mask (for float planes, where subtracting would lose the small
periphery error in rounding). :mod:`fpsnr.metrics` builds every score on these sums.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.regions.discs import Window, disc_window, empty_region
from fpsnr.regions.model import Disc

__all__ = ["PlaneSums", "RegionSums", "Window", "measure_plane", "sse"]

# cv2.norm returns a float64 that can be off by a few ulps from the integer sum (its
# optimised paths square per-channel L2 norms). Below 2**49 an ulp is at most 1/8 and the
# error far under 0.5, so rounding gives the exact integer, for 8-bit and 16-bit images
# alike (tested against int64 sums up to the limit); above it the sum is redone in int64.
_CV2_EXACT_LIMIT = float(2**49)
_CV2_EXACT_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))
# Pairwise overlap tests cost n² memory; beyond this many discs every disc takes the
# union path, which is always correct, only a little slower.
_PAIRWISE_LIMIT = 512


def sse(
    a: npt.NDArray[np.generic], b: npt.NDArray[np.generic], mask: npt.NDArray[np.uint8] | None = None
) -> int | float:
    """Σ_i M(i) Σ_c (a(i,c) − b(i,c))²: an exact int for integer images, float64 otherwise."""
    if a.dtype in _CV2_EXACT_DTYPES:
        value = cv2.norm(a, b, cv2.NORM_L2SQR, mask)  # type: ignore[arg-type]
        if value < _CV2_EXACT_LIMIT:
            return round(value)
    if a.dtype.kind == "u":
        d = a.astype(np.int64)
        d -= b  # type: ignore[arg-type]
        d *= d
        if d.ndim == 3:
            d = d.sum(axis=2)
        return int(d.sum() if mask is None else d[mask.view(bool)].sum())
    return float(cv2.norm(a, b, cv2.NORM_L2SQR, mask))  # type: ignore[arg-type]


def _may_overlap(discs: Sequence[Disc]) -> list[bool]:
    """Discs that might share a pixel with another disc (conservative)."""
    n = len(discs)
    if n < 2:
        return [False] * n
    if n > _PAIRWISE_LIMIT:
        return [True] * n
    if n <= 16:  # plain Python beats numpy's call overhead for a handful of discs
        flags = [False] * n
        for i in range(n):
            a = discs[i]
            for j in range(i + 1, n):
                b = discs[j]
                reach = a.radius + b.radius + 2.0
                if not ((a.x - b.x) ** 2 + (a.y - b.y) ** 2 > reach * reach):
                    flags[i] = flags[j] = True
        return flags
    x = np.array([d.x for d in discs])
    y = np.array([d.y for d in discs])
    r = np.array([d.radius for d in discs])
    with np.errstate(over="ignore", invalid="ignore"):
        dist2: Any = np.subtract.outer(x, x) ** 2 + np.subtract.outer(y, y) ** 2
        limit = np.add.outer(r, r) + 2.0  # a margin far beyond any rounding
        close = ~(dist2 > limit * limit)  # NaN/inf compare as "close": stay safe
    np.fill_diagonal(close, False)
    return close.any(axis=1).tolist()  # type: ignore[no-any-return]


class RegionSums(NamedTuple):
    disc: Disc
    sse: int | float
    pixels: int


class PlaneSums(NamedTuple):
    """Sums of squared errors of one plane: the frame, each disc and the periphery."""

    total_sse: int | float
    regions: tuple[RegionSums, ...]
    periphery_sse: int | float
    periphery_pixels: int


def measure_plane(
    a: npt.NDArray[np.generic],
    b: npt.NDArray[np.generic],
    discs: Sequence[Disc],
    window: Callable[[Disc, int, int], Window] = disc_window,
) -> PlaneSums:
    """Σ squared error of one plane pair over the frame, each disc and the periphery.

    ``window(disc, height, width)`` places a disc on this plane (:func:`disc_window` for
    a full-resolution plane; :mod:`fpsnr.video` maps discs onto subsampled chroma). A
    disc holding no sample of the plane is an :class:`~fpsnr.errors.EmptyRegionError`.
    """
    height, width = a.shape[0], a.shape[1]
    channels = 1
    if a.ndim == 3 and window is disc_window and a.flags.c_contiguous and b.flags.c_contiguous:
        # An interleaved image is summed as one plane of width·channels samples, under masks
        # spread over the channels (disc_window's ``channels``): the same sums, each disc's
        # 1.5–1.7× as fast (Kodak's default discs). Pixel counts stay counts of pixels.
        channels = a.shape[2]
        a, b = a.reshape(height, -1), b.reshape(height, -1)
        window = partial(disc_window, channels=channels)
    integer = a.dtype.kind == "u"
    total = sse(a, b)
    overlap = _may_overlap(discs)
    covered = np.zeros(a.shape[:2], dtype=np.uint8) if any(overlap) or not integer else None
    union_sse: int | float = 0
    union_pixels = 0
    sums = []
    for disc, shared in zip(discs, overlap, strict=True):
        rows, cols, mask, pixels = window(disc, height, width)
        if pixels == 0:
            raise empty_region(disc, height, width)
        disc_sse = sse(a[rows, cols], b[rows, cols], mask)
        sums.append(RegionSums(disc=disc, sse=disc_sse, pixels=pixels))
        if covered is None:
            union_sse += disc_sse
            union_pixels += pixels
            continue
        seen = covered[rows, cols]
        if integer:
            if shared:
                fresh = np.greater(mask, seen).view(np.uint8)
                union_sse += sse(a[rows, cols], b[rows, cols], fresh)
                union_pixels += cv2.countNonZero(fresh) // channels
            else:
                union_sse += disc_sse
                union_pixels += pixels
        np.bitwise_or(seen, mask, out=seen)
    if integer:
        periphery_sse: int | float = total - union_sse
        periphery_pixels = height * width - union_pixels
    else:
        assert covered is not None  # float images always build the union mask
        outside = np.equal(covered, 0).view(np.uint8)
        periphery_pixels = cv2.countNonZero(outside) // channels
        periphery_sse = sse(a, b, outside) if periphery_pixels else 0.0
    return PlaneSums(total, tuple(sums), periphery_sse, periphery_pixels)


