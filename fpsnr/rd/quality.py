"""MS-SSIM (Wang, Simoncelli & Bovik 2003) in numpy/OpenCV, without torch.

The same definition as ``pytorch_msssim.ms_ssim`` (which CompressAI reports): an
11-tap Gaussian window with σ = 1.5 applied separably without padding ("valid"),
K1 = 0.01, K2 = 0.03, five scales with weights (0.0448, 0.2856, 0.3001, 0.2363,
0.1333), 2×2 average pooling between scales (a zero row/column added on both sides of
an odd dimension, counted in the average, as torch's ``avg_pool2d(padding=1)``
does), negative contrast terms clipped at 0, computed per channel and averaged.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.errors import ImageError

__all__ = ["ms_ssim"]

_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_WIN = 11
_SIGMA = 1.5


def _gauss() -> npt.NDArray[np.float64]:
    x = np.arange(_WIN, dtype=np.float64) - _WIN // 2
    g: npt.NDArray[np.float64] = np.exp(-(x**2) / (2 * _SIGMA**2))
    return g / g.sum()  # type: ignore[no-any-return]


def _valid_filter(img: npt.NDArray[np.float64], g: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: Any = cv2.sepFilter2D(img, cv2.CV_64F, g, g, borderType=cv2.BORDER_CONSTANT)
    r = _WIN // 2
    return out[r:-r, r:-r]  # type: ignore[no-any-return]


def _pool(img: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    h, w = img.shape
    img = np.pad(img, ((h % 2, h % 2), (w % 2, w % 2)))
    h2, w2 = (img.shape[0] - 2) // 2 + 1, (img.shape[1] - 2) // 2 + 1
    img = img[: 2 * h2, : 2 * w2]
    return img.reshape(h2, 2, w2, 2).mean(axis=(1, 3))  # type: ignore[no-any-return]


def _ssim_cs(x: Any, y: Any, g: Any, c1: float, c2: float) -> tuple[float, float]:
    mu1, mu2 = _valid_filter(x, g), _valid_filter(y, g)
    s11 = _valid_filter(x * x, g) - mu1 * mu1
    s22 = _valid_filter(y * y, g) - mu2 * mu2
    s12 = _valid_filter(x * y, g) - mu1 * mu2
    cs = (2 * s12 + c2) / (s11 + s22 + c2)
    ssim = (2 * mu1 * mu2 + c1) / (mu1 * mu1 + mu2 * mu2 + c1) * cs
    return float(ssim.mean()), float(cs.mean())


def ms_ssim(
    image_true: npt.ArrayLike, image_test: npt.ArrayLike, *, data_range: float | None = None
) -> float:
    """Multi-scale SSIM of two images, in [0, 1].

    Parameters
    ----------
    image_true, image_test : numpy.ndarray
        Same shape, ``(H, W)`` or ``(H, W, C)``; both sides longer than 160 pixels (four
        halvings must leave room for the 11-tap window).
    data_range : float, optional
        Peak value; from the dtype for uint8/uint16 (255/65535), required for floats.
    """
    a = np.asarray(image_true)
    b = np.asarray(image_test)
    if a.shape != b.shape or a.dtype != b.dtype:
        raise ImageError(
            f"MS-SSIM needs equal shapes and dtypes, got {a.shape} {a.dtype} and {b.shape} {b.dtype}"
        )
    if min(a.shape[:2]) <= (_WIN - 1) * 2**4:
        raise ImageError(f"MS-SSIM needs both sides longer than 160 pixels, got {a.shape[1]}×{a.shape[0]}")
    if data_range is None:
        if a.dtype == np.uint8:
            data_range = 255.0
        elif a.dtype == np.uint16:
            data_range = 65535.0
        else:
            raise ImageError(f"MS-SSIM of {a.dtype} images needs data_range")
    g = _gauss()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    planes_a = a.reshape(a.shape[0], a.shape[1], -1).astype(np.float64)
    planes_b = b.reshape(b.shape[0], b.shape[1], -1).astype(np.float64)
    values = []
    for c in range(planes_a.shape[2]):
        x, y = planes_a[:, :, c], planes_b[:, :, c]
        terms = []
        for level in range(len(_WEIGHTS)):
            ssim, cs = _ssim_cs(x, y, g, c1, c2)
            if level < len(_WEIGHTS) - 1:
                terms.append(max(cs, 0.0))
                x, y = _pool(x), _pool(y)
            else:
                terms.append(max(ssim, 0.0))
        values.append(float(np.prod([t**w for t, w in zip(terms, _WEIGHTS, strict=True)])))
    return float(np.mean(values))
