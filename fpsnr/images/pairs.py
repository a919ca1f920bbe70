"""What the metric sums over: two images made comparable (peak, channels, luma, alpha).

:func:`prepare_pair` checks shapes and dtypes, fixes the peak value (255, 65535 or the
given data range), drops alpha when asked, and converts to luma for ``channel="y"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fpsnr.errors import ImageError, ParameterError
from fpsnr.images.io import turned_hint
from fpsnr.options import ALPHA_MODES, CHANNELS, AlphaMode, Channel, check_choice

__all__ = ["LUMA_WEIGHTS", "Pair", "drop_alpha", "luma", "peak_value", "prepare_pair"]

LUMA_WEIGHTS = (0.299, 0.587, 0.114)
"""BT.601 luma weights (full range), applied in float64 and never rounded (SPEC §1)."""
_INTEGER_PEAKS = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


def has_alpha(image: npt.NDArray[np.generic]) -> bool:
    """Whether an image is gray + alpha ``(H, W, 2)`` or RGBA ``(H, W, 4)``."""
    return image.ndim == 3 and image.shape[2] in (2, 4)


def drop_alpha(image: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    """The image without its alpha channel: gray+alpha → ``(H, W)``, RGBA → ``(H, W, 3)``.

    Images without alpha come back unchanged; whether dropping is allowed is the
    caller's decision (the metric refuses alpha unless asked).
    """
    if not has_alpha(image):
        return image
    return image[:, :, 0] if image.shape[2] == 2 else image[:, :, :3]


def luma(rgb: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
    """BT.601 full-range luma of an ``(H, W, 3)`` image in float64, unrounded."""
    f = rgb.astype(np.float64)
    w0, w1, w2 = LUMA_WEIGHTS
    # Written out term by term so the rounding is the same everywhere it is computed.
    out: npt.NDArray[np.float64] = f[:, :, 0] * w0 + f[:, :, 1] * w1 + f[:, :, 2] * w2
    return out


def peak_value(dtype: npt.DTypeLike, data_range: float | None = None) -> float:
    """Peak value MAX of equation (2) for a dtype.

    uint8 → 255 and uint16 → 65535, never guessed from the pixel values. Float images
    have no natural peak and need ``data_range``; for integer images ``data_range``
    overrides the dtype's peak (for example 1023 for 10-bit data stored in uint16).
    """
    dt = np.dtype(dtype)
    if data_range is not None:
        if not (np.isfinite(data_range) and data_range > 0):
            raise ParameterError(f"data range must be a positive finite number, got {data_range}")
        if dt not in _INTEGER_PEAKS and dt.kind != "f":
            raise ImageError(f"unsupported image dtype {dt}; use uint8, uint16 or float")
        return float(data_range)
    if dt in _INTEGER_PEAKS:
        return float(_INTEGER_PEAKS[dt])
    if dt.kind == "f":
        raise ImageError(
            f"float images ({dt}) have no natural peak value; pass {{data_range}}, e.g. 1.0 or 255"
        )
    raise ImageError(f"unsupported image dtype {dt}; use uint8, uint16 or float")


@dataclass(frozen=True)
class Pair:
    """Two images made ready for the metric engine.

    ``ref`` and ``test`` share shape and dtype: uint8, uint16 (exact integer sums) or
    float64; ``(H, W)`` or ``(H, W, C)``.
    """

    ref: npt.NDArray[np.generic]
    test: npt.NDArray[np.generic]
    peak: float
    channels: int
    """Channels of the input images (1 or 3), after dropping alpha."""
    channel: Channel

    @property
    def height(self) -> int:
        return int(self.ref.shape[0])

    @property
    def width(self) -> int:
        return int(self.ref.shape[1])

    @property
    def scored_channels(self) -> int:
        """C of equation (1): 3 for rgb colour, 1 for grayscale or luma."""
        return 1 if self.ref.ndim == 2 else int(self.ref.shape[2])


def _normalise_channels(
    image: npt.NDArray[np.generic], name: str, alpha: AlphaMode
) -> npt.NDArray[np.generic]:
    if image.ndim == 2:
        return image
    if image.ndim != 3:
        raise ImageError(f"{name} image has shape {image.shape}; expected (H, W) or (H, W, C)")
    c = image.shape[2]
    if c == 1:
        return image[:, :, 0]
    if c == 3:
        return image
    if has_alpha(image):
        if alpha != "drop":
            raise ImageError(
                f"{name} image has an alpha channel ({c} channels); drop it explicitly "
                "with {alpha_drop} or remove it from the file"
            )
        return drop_alpha(image)
    raise ImageError(f"{name} image has {c} channels; expected 1 (gray), 3 (RGB) or 4 (RGBA)")


def _check_range(image: Any, name: str, peak: float) -> None:
    if image.dtype.kind == "f":
        lo, hi = float(np.min(image)), float(np.max(image))
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ImageError(f"{name} image holds NaN or inf values")
        if lo < 0 or hi > peak:
            raise ImageError(
                f"{name} image has values in [{lo:g}, {hi:g}], outside the data range "
                f"[0, {peak:g}]; pass the right {{data_range}}"
            )
    elif peak < _INTEGER_PEAKS[image.dtype]:
        hi = float(np.max(image))
        if hi > peak:
            raise ImageError(
                f"{name} image has values up to {hi:g}, above the data range {peak:g}; "
                "pass the right {data_range}"
            )


def prepare_pair(
    image_true: npt.ArrayLike,
    image_test: npt.ArrayLike,
    *,
    channel: Channel = "rgb",
    data_range: float | None = None,
    alpha: AlphaMode = "error",
) -> Pair:
    """Validate two images and bring them to the form the engine sums over.

    Checks shape, dtype and channels (a grayscale and a colour image together are an
    error), drops alpha only when asked, finds the peak value from the dtype, and for
    ``channel="y"`` converts RGB to BT.601 luma in float64. Grayscale images are
    already luma, so ``channel="y"`` scores them unchanged.
    """
    check_choice("channel", channel, CHANNELS)
    check_choice("alpha", alpha, ALPHA_MODES)
    ref = np.asarray(image_true)
    test = np.asarray(image_test)
    if ref.dtype != test.dtype:
        raise ImageError(
            f"test image has dtype {test.dtype}; the reference has {ref.dtype} "
            "(convert both to the same bit depth)"
        )
    ref = _normalise_channels(ref, "reference", alpha)
    test = _normalise_channels(test, "test", alpha)
    if ref.ndim != test.ndim:
        kinds = {2: "grayscale", 3: "colour"}
        raise ImageError(
            f"test image is {kinds[test.ndim]} and the reference is {kinds[ref.ndim]}; "
            "convert one so both have the same channels"
        )
    if ref.shape != test.shape:
        hint = turned_hint((ref.shape[1], ref.shape[0]), (test.shape[1], test.shape[0]))
        raise ImageError(
            f"test image is {test.shape[1]}×{test.shape[0]} pixels; the reference is "
            f"{ref.shape[1]}×{ref.shape[0]}{hint}"
        )
    if ref.shape[0] == 0 or ref.shape[1] == 0:
        raise ImageError(f"images have shape {ref.shape}; they hold no pixel")
    peak = peak_value(ref.dtype, data_range)
    _check_range(ref, "reference", peak)
    _check_range(test, "test", peak)
    channels = 1 if ref.ndim == 2 else 3
    if ref.dtype.kind == "f":
        ref = ref.astype(np.float64, copy=False)
        test = test.astype(np.float64, copy=False)
    if channel == "y" and ref.ndim == 3:
        ref = luma(ref)
        test = luma(test)
    return Pair(
        ref=np.ascontiguousarray(ref),
        test=np.ascontiguousarray(test),
        peak=peak,
        channels=channels,
        channel=channel,
    )
