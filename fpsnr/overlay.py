"""Region overlays like the paper's Figures 1 and 3: circles, labels, dimmed periphery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.errors import ImageError
from fpsnr.images import drop_alpha
from fpsnr.regions import Disc, disc_mask

__all__ = ["draw_regions"]

_COLOURS = ((255, 200, 0), (0, 220, 255), (255, 80, 200), (120, 255, 80), (255, 120, 40))
_SHIFT = 4  # cv2 drawing takes fixed-point coordinates with this many fraction bits


def _to_display(image: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """An 8-bit RGB copy for drawing (16-bit and float images are rescaled)."""
    img: Any = drop_alpha(np.asarray(image))
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.dtype == np.uint16:
        img = (img.astype(np.float64) / 257.0).round()
    elif img.dtype.kind == "f":
        hi = float(np.nanmax(img)) if img.size else 1.0
        img = np.clip(img / (hi if hi > 1.0 else 1.0) * 255.0, 0, 255).round()
    elif img.dtype != np.uint8:
        raise ImageError(f"cannot draw an image of dtype {img.dtype}")
    img = img.astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img)


def draw_regions(
    image: npt.NDArray[np.generic], discs: Sequence[Disc], *, dim: float = 0.45
) -> npt.NDArray[np.uint8]:
    """Draw foveal regions on an image.

    The periphery Φ_0 is darkened by ``dim`` using the exact disc membership (the
    pixels actually scored); circle outlines and labels are drawn anti-aliased on top.
    Returns an 8-bit RGB image.
    """
    canvas = _to_display(image)
    height, width = canvas.shape[:2]
    inside = np.zeros((height, width), dtype=bool)
    for disc in discs:
        inside |= disc_mask((height, width), (disc.x, disc.y), disc.radius)
    canvas[~inside] = (canvas[~inside].astype(np.float64) * dim).round().astype(np.uint8)
    scale = max(0.4, min(width, height) / 900)
    thick = max(1, round(min(width, height) / 300))
    for n, disc in enumerate(discs):
        colour = _COLOURS[n % len(_COLOURS)]
        centre = (round(disc.x * (1 << _SHIFT)), round(disc.y * (1 << _SHIFT)))
        radius = min(round(disc.radius * (1 << _SHIFT)), 1 << 28)
        cv2.circle(canvas, centre, radius, colour, thick, cv2.LINE_AA, _SHIFT)
        cv2.circle(canvas, centre, 3 << _SHIFT, colour, -1, cv2.LINE_AA, _SHIFT)
        text = disc.label
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        x = int(min(max(disc.x - tw / 2, 2), max(width - tw - 2, 2)))
        y = int(min(max(disc.y - disc.radius - 6, th + 4), height - base - 2))
        cv2.rectangle(canvas, (x - 2, y - th - 3), (x + tw + 2, y + base), (0, 0, 0), -1)
        cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)
    return canvas
