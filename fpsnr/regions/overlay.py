"""Region overlays like the paper's Figures 1 and 3: circles, labels, dimmed periphery."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.errors import ImageError
from fpsnr.images.pairs import drop_alpha
from fpsnr.regions.discs import disc_mask
from fpsnr.regions.model import Disc

__all__ = ["draw_regions", "draw_score", "error_map_db", "regions_of"]

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


def _dim_periphery(canvas: npt.NDArray[np.uint8], discs: Sequence[Disc], dim: float) -> None:
    """Darken, in place, every pixel outside all discs (the exact scored sets) by ``dim``."""
    height, width = canvas.shape[:2]
    inside = np.zeros((height, width), dtype=bool)
    for disc in discs:
        inside |= disc_mask((height, width), (disc.x, disc.y), disc.radius)
    canvas[~inside] = (canvas[~inside].astype(np.float64) * dim).round().astype(np.uint8)


def draw_regions(
    image: npt.NDArray[np.generic], discs: Sequence[Disc], *, dim: float = 0.45,
    texts: Sequence[str] | None = None,
) -> npt.NDArray[np.uint8]:  # fmt: skip
    """Draw foveal regions on an image.

    The periphery Φ_0 is darkened by ``dim`` using the exact disc membership (the
    pixels actually scored); circle outlines and labels (``texts``, one per disc; the
    discs' labels by default) are drawn anti-aliased on top. Returns an 8-bit RGB image.
    """
    canvas = _to_display(image)
    labels = [d.label for d in discs] if texts is None else list(texts)
    _draw_discs(canvas, discs, labels, dim, scale=900, centres=True)
    return canvas


def _draw_discs(
    canvas: npt.NDArray[np.uint8], discs: Sequence[Disc], texts: Sequence[str], dim: float, *, scale: float,
    centres: bool,
) -> None:  # fmt: skip
    """Dim the periphery of ``canvas``, then draw each disc and its label (placed by :func:`_label_boxes`).

    The text scale grows with the image (its short side ÷ ``scale``); ``centres`` marks
    each centre with a dot.
    """
    height, width = canvas.shape[:2]
    _dim_periphery(canvas, discs, dim)
    size = max(0.4, min(width, height) / scale)
    thick = max(1, round(min(width, height) / 300))
    boxes = _label_boxes(discs, texts, width, height, size, thick)
    for n, (disc, text, box) in enumerate(zip(discs, texts, boxes, strict=True)):
        colour = _COLOURS[n % len(_COLOURS)]
        centre = (round(disc.x * (1 << _SHIFT)), round(disc.y * (1 << _SHIFT)))
        radius = min(round(disc.radius * (1 << _SHIFT)), 1 << 28)
        cv2.circle(canvas, centre, radius, colour, thick, cv2.LINE_AA, _SHIFT)
        if centres:
            cv2.circle(canvas, centre, 3 << _SHIFT, colour, -1, cv2.LINE_AA, _SHIFT)
        x, y, tw, th, base = box
        cv2.rectangle(canvas, (x - 3, y - th - 4), (x + tw + 3, y + base + 1), (0, 0, 0), -1)
        cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, size, colour, thick, cv2.LINE_AA)


# --------------------------------------------------------------------------- a score explained

_ERROR_DB = (10.0, 60.0)
"""Range of the error map's colour scale, per-pixel PSNR in dB (clipped at both ends)."""

DRAW_SIDE = 1600
"""The longest side, in pixels, a score's picture draws an image at (larger ones are reduced)."""


def _reduced(
    ref: npt.NDArray[np.generic], test: npt.NDArray[np.generic], peak: float, channel: str, factor: float
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64]]:
    """The test image for display and the per-pixel PSNR map, both reduced by ``factor``.

    The map averages the squared error over each reduced pixel's area (OpenCV's area
    interpolation) before taking dB, so a reduced pixel shows the PSNR of the pixels it
    covers; summed one channel at a time in float32, so a 25 MP pair never holds a
    float64 copy.
    """
    canvas: Any = _to_display(test)
    squared: Any = _squared_errors(ref, test, channel, np.float32)
    if factor < 1.0:
        size = (max(1, round(squared.shape[1] * factor)), max(1, round(squared.shape[0] * factor)))
        canvas = cv2.resize(canvas, size, interpolation=cv2.INTER_AREA)
        squared = cv2.resize(squared, size, interpolation=cv2.INTER_AREA)
    return canvas, _db_map(squared.astype(np.float64), peak)


def _squared_errors(ref: Any, test: Any, channel: str, dtype: Any) -> Any:
    """e² per pixel: the mean over channels (as equation (1) pools them), or the squared luma error."""
    from fpsnr.images.pairs import luma

    a, b = drop_alpha(np.asarray(ref)), drop_alpha(np.asarray(test))
    if channel == "y" and a.ndim == 3:
        a, b = luma(a), luma(b)
    planes = [(a, b)] if a.ndim == 2 else [(a[:, :, c], b[:, :, c]) for c in range(a.shape[2])]
    squared = np.zeros(a.shape[:2], dtype=dtype)
    for pa, pb in planes:
        diff = pa.astype(dtype) - pb.astype(dtype)
        squared += diff * diff
    squared /= len(planes)
    return squared


def _db_map(squared: npt.NDArray[np.float64], peak: float) -> npt.NDArray[np.float64]:
    with np.errstate(divide="ignore"):
        return np.asarray(10.0 * np.log10(peak * peak / squared), dtype=np.float64)


def error_map_db(
    ref: npt.NDArray[np.generic], test: npt.NDArray[np.generic], peak: float, *, channel: str = "rgb"
) -> npt.NDArray[np.float64]:
    """Per-pixel PSNR in dB: 10·log10(MAX² / e²), e² the squared error of the pixel.

    e² is the mean over channels (as equation (1) pools them), or the squared luma
    error for ``channel="y"``. A pixel without error is +inf.
    """
    return _db_map(_squared_errors(ref, test, channel, np.float64), peak)


def _label_boxes(
    discs: Sequence[Disc], texts: Sequence[str], width: int, height: int, scale: float, thick: int
) -> list[tuple[int, int, int, int, int]]:
    """A readable place for each label: (x, y baseline, w, h, base), avoiding earlier labels.

    Candidates, in order: above the circle, below it, right of it, left of it, on its
    centre; each kept inside the image. The one that overlaps earlier labels least wins;
    among those, the one that covers least of the other circles (a label written on
    another region hides what that region scores), then least of its own.
    """
    placed: list[tuple[int, int, int, int, int]] = []

    def area(box: tuple[int, int, int, int, int], others: Sequence[tuple[float, float, float, float]]) -> int:
        x, y, w, h, base = box
        total = 0.0
        for left, top, right, bottom in others:
            dx = min(x + w, right) - max(x, left)
            dy = min(y + base, bottom) - max(y - h, top)
            total += max(0.0, dx) * max(0.0, dy)
        return round(total)

    def labels(box: tuple[int, int, int, int, int]) -> int:
        return area(box, [(px, py - ph, px + pw, py + pb) for px, py, pw, ph, pb in placed])

    for n, (disc, text) in enumerate(zip(discs, texts, strict=True)):
        circles = [(d.x - d.radius, d.y - d.radius, d.x + d.radius, d.y + d.radius)
                   for m, d in enumerate(discs) if m != n]  # fmt: skip
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        own = [(disc.x - disc.radius, disc.y - disc.radius, disc.x + disc.radius, disc.y + disc.radius)]
        middle_x, middle_y = disc.x - tw / 2, disc.y + th / 2
        places = [(middle_x, disc.y - disc.radius - 8), (middle_x, disc.y + disc.radius + th + 8),
                  (disc.x + disc.radius + 8, middle_y), (disc.x - disc.radius - 8 - tw, middle_y),
                  (middle_x, middle_y)]  # fmt: skip
        candidates = []
        for x, y in places:
            x = int(min(max(x, 4), max(width - tw - 4, 4)))
            y = int(min(max(y, th + 6), height - base - 4))
            candidates.append((x, y, tw, th, base))
        best = min(candidates, key=lambda box: (labels(box), area(box, circles), area(box, own),
                                                candidates.index(box)))  # fmt: skip
        placed.append(best)
    return placed


def draw_score(
    ref: npt.NDArray[np.generic],
    test: npt.NDArray[np.generic],
    discs: Sequence[Disc],
    score: Any,
    out: str | Path,
    *,
    dim: float = 0.45,
) -> None:
    """A PNG that explains a score: the regions on the test image, and its error map.

    Left or top: the test image, periphery dimmed, each circle with its label and
    F_PSNR. Under it (landscape images) or beside it (portrait): the per-pixel PSNR map
    (:func:`error_map_db`, colour map ``inferno_r``: bright = large error) with the same
    circles and a colour bar in dB. The title gives PSNR, mean F_PSNR, periphery PSNR
    and M-FPSNR at the score's Fp. ``score`` is a :class:`~fpsnr.results.Score`.

    An image larger than :data:`DRAW_SIDE` (1600 px) on its longer side is drawn reduced
    to it (area interpolation, the error map averaging squared errors), so the picture's
    text stays readable and a 25 MP pair costs what a 2.6 MP one does; the scores in it
    are the full-resolution ones.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    full_h, full_w = np.asarray(test).shape[:2]
    factor = min(1.0, DRAW_SIDE / max(full_w, full_h))
    canvas, errors = _reduced(ref, test, score.peak, score.channel, factor)
    height, width = canvas.shape[:2]
    if factor < 1.0:  # the same points of the picture (pixel-centre convention), radii scaled
        discs = [Disc(x=(d.x + 0.5) * width / full_w - 0.5, y=(d.y + 0.5) * height / full_h - 0.5,
                      radius=d.radius * factor, label=d.label) for d in discs]  # fmt: skip
    _draw_discs(canvas, discs, [f"{r.label}  {_db(r.fpsnr)}" for r in score.regions], dim, scale=800,
                centres=False)  # fmt: skip
    portrait = height > width
    rows, cols = (1, 2) if portrait else (2, 1)
    dpi = 100
    fig_w = (width * cols) / dpi + (1.2 if portrait else 1.0)
    fig_h = (height * rows) / dpi + 0.9
    fig, axes = plt.subplots(rows, cols, figsize=(fig_w, fig_h), dpi=dpi, layout="constrained")
    left, right = axes
    left.imshow(canvas, interpolation="nearest")
    left.set_title("test image: regions and F_PSNR", fontsize=10)
    shown = np.clip(np.nan_to_num(errors, posinf=_ERROR_DB[1]), *_ERROR_DB)
    image = right.imshow(shown, cmap="inferno_r", vmin=_ERROR_DB[0], vmax=_ERROR_DB[1],
                         interpolation="nearest")  # fmt: skip
    for n, disc in enumerate(discs):
        edge = tuple(c / 255 for c in _COLOURS[n % len(_COLOURS)])
        right.add_patch(Circle((disc.x, disc.y), disc.radius, fill=False, color=edge, linewidth=1.2))
    right.set_title("per-pixel PSNR (bright = large error)", fontsize=10)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_ylim(height - 0.5, -0.5)
    bar = fig.colorbar(image, ax=right, fraction=0.046 if portrait else 0.03, pad=0.02)
    bar.set_label(f"dB (clipped to {_ERROR_DB[0]:g}–{_ERROR_DB[1]:g}; no error = top)")
    periphery = "none" if score.periphery_psnr is None else _db(score.periphery_psnr)
    fig.suptitle(
        f"PSNR {_db(score.psnr)} · mean F_PSNR {_db(score.mean_fpsnr)} · periphery PSNR {periphery} · "
        f"M-FPSNR (Fp = {score.fp:g}) {_db(score.m_fpsnr)}",
        fontsize=10,
    )
    fig.savefig(os.fspath(out))
    plt.close(fig)


def regions_of(score: Any) -> list[Disc]:
    """The discs a :class:`~fpsnr.results.Score` was computed over (centres and radii as scored)."""
    return [Disc(x=r.center[0], y=r.center[1], radius=r.radius, label=r.label) for r in score.regions]


def _db(value: float) -> str:
    return "inf dB" if math.isinf(value) else f"{value:.2f} dB"
