"""The pixels of a disc: its exact membership mask (SPEC §1), clipped to the frame, cached."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.errors import EmptyRegionError
from fpsnr.regions.model import Disc, Region

__all__ = [
    "BoundedCache", "Window", "clear_caches", "disc_has_pixel", "disc_mask", "disc_window",
    "empty_region", "require_pixels",
]  # fmt: skip


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


def _inside(dy: npt.NDArray[np.float64], dx: npt.NDArray[np.float64], radius: float) -> npt.NDArray[np.uint8]:
    """0/1 mask of (dx − 0)² + (dy − 0)² ≤ R² over the grid ``dy`` × ``dx``, exactly in float64.

    The sum of squares of every grid point is one matrix product, [dy², 1] · [1, dx²]ᵀ:
    each product is by 1 (exact), so every entry is the correctly rounded fl(dy² + dx²)
    that SPEC §1's test takes, whatever order BLAS adds two terms in — and a single
    BLAS call is about twice as fast as numpy's row-by-row broadcast of the same sum.
    """
    left = np.empty((dy.size, 2))
    np.multiply(dy, dy, out=left[:, 0])  # correctly rounded products, never pow()
    left[:, 1] = 1.0
    right = np.empty((2, dx.size))
    right[0] = 1.0
    np.multiply(dx, dx, out=right[1])
    return np.less_equal(left @ right, radius * radius).view(np.uint8)


Window = tuple[slice, slice, npt.NDArray[np.uint8], int]
"""A disc on one plane: its bounding rows and columns, its 0/1 mask there, and how many
pixels (samples of that plane) it holds."""


def _spread(inside: npt.NDArray[np.uint8], channels: int) -> npt.NDArray[np.uint8]:
    """Each mask entry repeated once per channel: the mask on an H × W·C view of an interleaved image."""
    if channels == 1:
        return inside
    if not inside.size:
        return np.zeros((inside.shape[0], inside.shape[1] * channels), np.uint8)
    repeated: npt.NDArray[np.uint8] = np.asarray(cv2.merge([inside] * channels), np.uint8)  # (no copy)
    return repeated.reshape(inside.shape[0], -1)


def _clipped(x: float, y: float, radius: float, height: int, width: int, channels: int) -> Window:
    """The window of a disc that reaches the frame's edge, built in frame coordinates."""
    y0, y1 = _bounds(y, radius, height)
    x0, x1 = _bounds(x, radius, width)
    dy = np.arange(y0, y1, dtype=np.float64) - y
    dx = np.arange(x0, x1, dtype=np.float64) - x
    inside = _inside(dy, dx, radius)
    pixels = cv2.countNonZero(inside) if inside.size else 0
    return slice(y0, y1), slice(x0 * channels, x1 * channels), _spread(inside, channels), pixels


def _shape(fx: float, fy: float, radius: float, channels: int) -> tuple[int, int, npt.NDArray[np.uint8], int]:
    """The mask of a disc centred at (fx, fy), 0 ≤ fx, fy < 1, over its whole bounding box.

    A disc's mask depends on its centre only through the fractional parts: with
    x = k + f (k = ⌊x⌋, and f = x − k exact for x ≥ 0 by Sterbenz's lemma), the column
    offset of pixel k + m is fl(m − f), the rounding of the same real number as
    fl((k + m) − x), so the two are the same double. Discs that differ by whole pixels
    — hand-placed integer centres at one default radius, a grid of proposals — share one
    exact mask.
    """
    m0, m1 = math.floor(fy - radius), math.floor(fy + radius) + 2
    n0, n1 = math.floor(fx - radius), math.floor(fx + radius) + 2
    dy = np.arange(m0, m1, dtype=np.float64) - fy
    dx = np.arange(n0, n1, dtype=np.float64) - fx
    inside = _inside(dy, dx, radius)
    return m0, n0, _spread(inside, channels), cv2.countNonZero(inside)


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
        if self.keeps(size):
            with self._lock:
                if key not in self._items:
                    self._items[key] = value
                    self._bytes += size
                while self._bytes > self._max:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= self._size_of(old)
        return value

    def keeps(self, size: int) -> bool:
        """Whether a value of ``size`` bytes would be stored (not too large a share of the budget)."""
        return size <= self._max // self._share

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


_windows: BoundedCache[tuple[float, float, float, int, int, int], Window] = BoundedCache(
    64 << 20, lambda window: window[2].nbytes
)
_shapes: BoundedCache[tuple[float, float, float, int], tuple[int, int, npt.NDArray[np.uint8], int]] = (
    BoundedCache(64 << 20, lambda shape: shape[2].nbytes)
)


def clear_caches(*, keep_shapes: bool = False) -> None:
    """Forget the stored disc masks (benchmarks time the first, 'cold' call with it).

    ``keep_shapes`` keeps the masks of discs wholly inside the frame, stored by fractional
    centre and radius: the next call then meets its discs as a batch meets a new
    reference whose centres are those shifted by whole pixels.
    """
    _windows.clear()
    if not keep_shapes:
        _shapes.clear()


def disc_window(disc: Disc, height: int, width: int, *, keep: bool = True, channels: int = 1) -> Window:
    """The disc's bounding box, its exact 0/1 membership mask there, and its pixels.

    Masks are kept in bounded caches for the next call with the same disc; ``keep=False``
    builds one without storing it (a disc that will not recur, as a moving disc's each frame).
    A disc wholly inside the frame is placed from the mask of its shape (:func:`_shape`:
    one mask for all discs a whole number of pixels apart); one that reaches the frame's
    edge (or has a negative centre) is built clipped, for this frame size.

    ``channels`` > 1 places the disc on the ``height`` × ``width·channels`` 2-D view of an
    interleaved image: the columns span every channel of the box and each mask entry is
    repeated once per channel (OpenCV's masked sum over one channel of this view runs 1.5–1.7×
    as fast as over three channels under the one-channel mask); ``pixels`` still counts
    pixels, not samples.
    """
    x, y, radius = disc.x, disc.y, disc.radius
    if channels > 1 and not _shapes.keeps(int((2 * radius + 3) ** 2) * channels):
        # Too large to keep spread (radius above about 835 in colour): the one-channel mask is
        # kept, as for a gray image, and spread on each call instead of being built again.
        rows, cols, inside, pixels = disc_window(disc, height, width, keep=keep)
        return rows, slice(cols.start * channels, cols.stop * channels), _spread(inside, channels), pixels
    if x - radius >= 1 and y - radius >= 1 and x + radius <= width - 3 and y + radius <= height - 3:
        kx, ky = math.floor(x), math.floor(y)
        fx, fy = x - kx, y - ky
        if keep:
            m0, n0, inside, pixels = _shapes.get((fx, fy, radius, channels), _shape, fx, fy, radius, channels)
        else:
            m0, n0, inside, pixels = _shape(fx, fy, radius, channels)
        top, left = ky + m0, (kx + n0) * channels
        return slice(top, top + inside.shape[0]), slice(left, left + inside.shape[1]), inside, pixels
    if not keep:
        return _clipped(x, y, radius, height, width, channels)
    key = (x, y, radius, height, width, channels)
    return _windows.get(key, _clipped, *key)


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
    rows, cols, inside, _ = disc_window(disc, height, width)
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


def empty_region(disc: Disc, height: int, width: int) -> EmptyRegionError:
    """The error for a disc that holds no pixel of a ``height`` × ``width`` frame."""
    return EmptyRegionError(
        f"region {disc.label!r} (centre ({disc.x:g}, {disc.y:g}), radius {disc.radius:g}) "
        f"holds no pixel of the {width}×{height} image; move it inside the image"
    )


def require_pixels(discs: Sequence[Disc], height: int, width: int) -> None:
    """Refuse the first disc that holds no pixel: it cannot be scored, so it is not drawn either."""
    for disc in discs:
        if not disc_has_pixel(disc, height, width):
            raise empty_region(disc, height, width)
