"""Independent implementations of the metric, used only by the tests.

``naive_score`` evaluates SPEC §1 literally on full-frame float64 masks built with
``np.mgrid``; ``loop_score`` walks every pixel in plain Python (for tiny images).
Neither shares code with the engine in ``fpsnr.metrics``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

LUMA = (0.299, 0.587, 0.114)


def _as_planes(image: np.ndarray, channel: str) -> np.ndarray:
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 2:
        a = a[:, :, None]
    if channel == "y" and a.shape[2] == 3:
        a = (a[:, :, 0] * LUMA[0] + a[:, :, 1] * LUMA[1] + a[:, :, 2] * LUMA[2])[:, :, None]
    return a


def _db(mse: float, peak: float) -> float:
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


def naive_score(
    ref: np.ndarray,
    test: np.ndarray,
    discs: list[tuple[float, float, float]],
    *,
    peak: float,
    fp: float = 0.5,
    channel: str = "rgb",
) -> dict[str, Any]:
    a = _as_planes(ref, channel)
    b = _as_planes(test, channel)
    h, w, c = a.shape
    err = ((a - b) ** 2).sum(axis=2)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    # squares as products: IEEE multiplication is correctly rounded, Python's pow() is not
    # always (a centre exactly one radius from a pixel would then fall outside)
    masks = [(xx - x) * (xx - x) + (yy - y) * (yy - y) <= r * r for x, y, r in discs]
    if not all(m.any() for m in masks):
        return {"empty": True}
    regions = []
    for m in masks:
        f_mse = err[m].sum() / (c * m.sum())
        regions.append({"pixels": int(m.sum()), "mse": f_mse, "fpsnr": _db(f_mse, peak)})
    periphery = ~np.any(masks, axis=0)
    p_psnr = _db(err[periphery].sum() / (c * periphery.sum()), peak) if periphery.any() else None
    mean = sum(r["fpsnr"] for r in regions) / len(regions)
    if fp == 0 or p_psnr is None:
        m_fpsnr = mean
    else:
        m_fpsnr = (1 - fp) * mean + fp * p_psnr
    return {
        "empty": False,
        "psnr": _db(err.sum() / (c * h * w), peak),
        "mean_fpsnr": mean,
        "periphery_psnr": p_psnr,
        "m_fpsnr": m_fpsnr,
        "regions": regions,
        "periphery_pixels": int(periphery.sum()),
    }


def loop_score(
    ref: np.ndarray, test: np.ndarray, discs: list[tuple[float, float, float]], *, peak: float, fp: float
) -> dict[str, Any]:
    """The same definitions pixel by pixel, with Python ints for integer images."""
    h, w = ref.shape[:2]
    c = 1 if ref.ndim == 2 else ref.shape[2]
    sums = [0] * len(discs)
    counts = [0] * len(discs)
    total = 0
    p_sum = 0
    p_count = 0
    for y in range(h):
        for x in range(w):
            if ref.ndim == 2:
                e = (int(ref[y, x]) - int(test[y, x])) ** 2
            else:
                e = sum((int(ref[y, x, k]) - int(test[y, x, k])) ** 2 for k in range(c))
            total += e
            inside = False
            for j, (xc, yc, r) in enumerate(discs):
                if (x - xc) * (x - xc) + (y - yc) * (y - yc) <= r * r:
                    sums[j] += e
                    counts[j] += 1
                    inside = True
            if not inside:
                p_sum += e
                p_count += 1
    fpsnrs = [_db(s / (c * n), peak) for s, n in zip(sums, counts, strict=True)]
    mean = sum(fpsnrs) / len(fpsnrs)
    periphery = _db(p_sum / (c * p_count), peak)
    return {
        "psnr": _db(total / (c * h * w), peak),
        "fpsnr": fpsnrs,
        "pixels": counts,
        "mean_fpsnr": mean,
        "periphery_psnr": periphery,
        "m_fpsnr": (1 - fp) * mean + fp * periphery,
    }


def close_db(a: float | None, b: float | None, tol: float = 1e-9) -> bool:
    """Equal within tol dB, with inf == inf and None == None."""
    if a is None or b is None:
        return a is b
    if np.isinf(a) or np.isinf(b):
        return a == b
    return abs(a - b) <= tol
