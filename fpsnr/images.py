"""Reading image files and checking that two images can be compared.

Images are numpy arrays in RGB(A) channel order: ``(H, W)`` grayscale, ``(H, W, 3)``
colour or ``(H, W, 4)`` colour with alpha. Files are decoded with OpenCV exactly as
stored: 16-bit PNG/TIFF keep their depth, and EXIF orientation is *not* applied (both
images of a pair are read the same way, and codecs see the stored pixels too).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.errors import ImageError, ImageReadError, ParameterError
from fpsnr.limits import check_pixels, max_pixels, read_capped
from fpsnr.options import ALPHA_MODES, CHANNELS, AlphaMode, Channel, check_choice

__all__ = [
    "IMAGE_EXTENSIONS",
    "LUMA_WEIGHTS",
    "Pair",
    "drop_alpha",
    "exif_orientation",
    "find_images",
    "luma",
    "orient",
    "peak_value",
    "prepare_pair",
    "read_image",
    "read_pair",
    "write_image",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
"""File extensions treated as images when scanning folders."""

LUMA_WEIGHTS = (0.299, 0.587, 0.114)
"""BT.601 luma weights (full range), applied in float64 and never rounded (SPEC §1)."""
_INTEGER_PEAKS = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}
_MAX_BYTES_PER_PIXEL = 16  # float32 RGBA stored uncompressed: the largest a file needs per pixel


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence C libraries (libpng, libjpeg) that print to fd 2 while decoding.

    Their messages would add a second, unhelpful line to fpsnr's one-line errors; the
    failure itself is still reported, by fpsnr.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured)
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _header_size(data: bytes | memoryview) -> tuple[int, int] | None:
    """(width, height) from an image header without decoding pixels; None if unknown.

    Pillow's format plugins parse the header lazily. They are called the way
    ``Image.open`` calls them but without its own decompression-bomb guard, which
    refuses above 2 · ``Image.MAX_IMAGE_PIXELS`` without telling the size: fpsnr needs
    the size to apply its own budget. Formats Pillow does not know (OpenCV reads a few
    more) give None; OpenCV's limit of 2³⁰ pixels and the check after decoding remain.
    """
    from PIL import Image

    Image.init()
    prefix = bytes(data[:16])
    for name in Image.ID:
        factory, accept = Image.OPEN[name]
        try:
            if accept is not None and accept(prefix) is not True:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                image = factory(io.BytesIO(data), "")
                width, height = image.size
                image.close()
            return int(width), int(height)
        except Exception:
            continue
    return None


def _read_bytes(p: Path) -> bytes:
    # Bounded while reading: st_size is 0 for pipes and devices (/dev/zero never ends).
    limit = max_pixels() * _MAX_BYTES_PER_PIXEL + (1 << 20)
    data = read_capped(p, limit, ImageReadError, expected="an image file")
    if data is None:
        raise ImageReadError(
            f"{p}: more than {limit:,} bytes, larger than any image within the pixel limit; "
            "raise it with fpsnr --max-pixels if this is a real image"
        )
    return data


_EXIF_ORIENTATION = 0x0112


def exif_orientation(data: bytes | memoryview) -> int:
    """The EXIF orientation tag (1–8) of an encoded image, 1 when absent or unreadable."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                value = int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # not a format Pillow reads, a broken EXIF block: as stored
        return 1
    return value if 1 <= value <= 8 else 1


def orient(image: npt.NDArray[np.generic], orientation: int) -> npt.NDArray[np.generic]:
    """Turn pixels stored with EXIF ``orientation`` upright (as Pillow's ``exif_transpose`` does)."""
    ops: dict[int, Callable[[Any], Any]] = {
        2: lambda a: a[:, ::-1],  # mirrored
        3: lambda a: a[::-1, ::-1],  # rotated 180°
        4: lambda a: a[::-1],  # flipped
        5: lambda a: a.swapaxes(0, 1),  # transposed
        6: lambda a: np.rot90(a, -1),  # stored turned 90° counter-clockwise
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # transversed
        8: lambda a: np.rot90(a, 1),  # stored turned 90° clockwise
    }
    op = ops.get(orientation)
    return image if op is None else np.ascontiguousarray(op(image))


def read_image(path: str | os.PathLike[str], *, exif: bool = False) -> npt.NDArray[np.generic]:
    """Read an image file as stored, in RGB(A) channel order.

    The header's size is checked against the pixel budget (:mod:`fpsnr.limits`) before
    any pixel is decoded, so a decompression bomb is refused in milliseconds. With
    ``exif=True`` the pixels are turned upright by the file's EXIF orientation tag.

    Parameters
    ----------
    path : str or path-like
        PNG, JPEG, BMP, TIFF, WebP or any other format OpenCV decodes.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` for grayscale, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA; dtype as
        stored (uint8, uint16, float32, or whatever a TIFF holds: the metric refuses
        dtypes it cannot score, with a message).

    Raises
    ------
    ImageReadError
        The file is missing, is a folder, is empty, truncated, not an image, or claims
        more pixels than the budget.
    """
    p = Path(path)
    data, size = _load(p)
    return _decode(p, data, size, exif=exif)


def _load(p: Path) -> tuple[bytes, tuple[int, int] | None]:
    """The file's bytes (bounded) and the (width, height) its header claims, if known."""
    data = _read_bytes(p)
    if not data:
        raise ImageReadError(f"{p}: file is empty, expected an image")
    return data, _header_size(data)


def _decode(p: Path, data: bytes, size: tuple[int, int] | None, *, exif: bool) -> npt.NDArray[np.generic]:
    """Pixels of an encoded image, the header's size checked against the budget first."""
    if size is not None:
        refusal = check_pixels(str(p), *size)
        if refusal is not None:
            raise ImageReadError(refusal)
    try:
        with _quiet_stderr():
            image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as err:
        raise ImageReadError(f"{p}: cannot decode ({_first_line(err)})") from err
    if image is None:
        raise ImageReadError(f"{p}: cannot decode as an image (truncated, corrupt or not an image file)")
    refusal = check_pixels(str(p), image.shape[1], image.shape[0])  # formats without a known header
    if refusal is not None:
        raise ImageReadError(refusal)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        # BGR(A) → RGB(A) by indexing: works for every dtype a TIFF may hold (cvtColor does not).
        order = [2, 1, 0] if image.shape[2] == 3 else [2, 1, 0, 3]
        image = image[:, :, order]
    upright: npt.NDArray[np.generic] = orient(image, exif_orientation(data)) if exif else image
    return np.ascontiguousarray(upright)


def _first_line(err: cv2.error) -> str:
    """The useful part of an OpenCV error: its first line, without the source file and line."""
    lines = [line.strip() for line in str(err.msg or err).splitlines() if line.strip()]
    text = lines[0] if lines else "OpenCV error"
    return text.split(" error: ", 1)[-1]


def read_pair(
    ref: str | os.PathLike[str], test: str | os.PathLike[str], *, exif: bool = False
) -> tuple[npt.NDArray[np.generic], npt.NDArray[np.generic]]:
    """Read a reference and a test image, comparing their header sizes before decoding.

    A size mismatch is known from the headers alone: it is reported without decoding
    either image, which matters when one of them is huge. With ``exif=True`` both are
    turned upright by their EXIF orientation (then sizes are compared after decoding).
    """
    p_ref, p_test = Path(ref), Path(test)
    (ref_data, ref_size), (test_data, test_size) = _load(p_ref), _load(p_test)  # each file read once
    if not exif and ref_size is not None and test_size is not None and ref_size != test_size:
        (rw, rh), (tw, th) = ref_size, test_size
        hint = _turned(ref_size, test_size)
        raise ImageError(f"test image is {tw}×{th} pixels; the reference is {rw}×{rh}{hint}")
    return _decode(p_ref, ref_data, ref_size, exif=exif), _decode(p_test, test_data, test_size, exif=exif)


def _turned(ref_size: tuple[int, int], test_size: tuple[int, int]) -> str:
    """A hint when one size is the other turned by 90°: EXIF orientation is the usual cause."""
    if ref_size == test_size[::-1] and ref_size[0] != ref_size[1]:
        return "; one is the other turned by 90°: if a file has an EXIF orientation tag, pass --exif apply"
    return ""


def find_images(root: str | os.PathLike[str]) -> dict[str, list[Path]]:
    """Image files under ``root``, recursively, keyed by relative path without extension.

    Keys use ``/`` on every platform. Two files with the same stem in one folder
    (``a.png`` and ``a.jpg``) share a key: the caller decides what that means.
    Symbolic links to folders are followed (each real folder once, so a link loop
    ends); a folder that cannot be listed is an error naming it, never silently
    skipped — its images would otherwise be missing from the results.
    """
    base = Path(root)

    def refuse(err: OSError) -> None:
        where = Path(err.filename) if err.filename else base
        if isinstance(err, FileNotFoundError) and where == base:
            raise ImageReadError(f"{base}: no such folder")
        if isinstance(err, NotADirectoryError) and where == base:
            raise ImageReadError(f"{base}: not a folder")
        fix = "fix its permissions" if where == base else f"fix its permissions or move it out of {base}"
        raise ImageReadError(f"{where}: cannot list this folder ({err.strerror or err}); {fix}")

    found: dict[str, list[Path]] = {}
    seen: set[tuple[int, int]] = set()
    for folder, dirs, files in os.walk(base, onerror=refuse, followlinks=True):
        try:
            info = os.stat(folder)
        except OSError as err:
            refuse(err)
        if (info.st_dev, info.st_ino) in seen:  # a link back to a folder already walked
            dirs.clear()
            continue
        seen.add((info.st_dev, info.st_ino))
        dirs.sort()
        here = Path(folder)
        for name in files:
            path = here / name
            if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
                key = path.relative_to(base).with_suffix("").as_posix()
                found.setdefault(key, []).append(path)
    return {key: sorted(paths) for key, paths in sorted(found.items())}


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
            f"float images ({dt}) have no natural peak value; pass data_range (--data-range), e.g. 1.0 or 255"
        )
    raise ImageError(f"unsupported image dtype {dt}; use uint8, uint16 or float")


def write_image(
    path: str | os.PathLike[str], image: npt.NDArray[np.generic], *, quality: int | None = None
) -> None:
    """Write an RGB(A) or grayscale image; the format follows the file extension.

    ``quality`` applies to JPEG and WebP (1–100).
    """
    p = Path(path)
    img: Any = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    params: list[int] = []
    ext = p.suffix.lower()
    if quality is not None and ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif quality is not None and ext == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, int(quality)]
    elif ext in (".tif", ".tiff") and img.dtype.kind == "f":
        # some OpenCV builds write float TIFF with lossy LogLuv compression by default
        params = [cv2.IMWRITE_TIFF_COMPRESSION, 1]
    try:
        ok, data = cv2.imencode(ext or ".png", img, params)
    except cv2.error as err:
        raise ImageReadError(f"{p}: cannot encode an image as {ext or 'PNG'} ({err.msg.strip()})") from err
    if not ok:
        raise ImageReadError(f"{p}: cannot encode an image as {ext or 'PNG'}")
    try:
        p.write_bytes(data.tobytes())
    except OSError as err:
        raise ImageReadError(f"{p}: cannot write ({err.strerror or err})") from err


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
                "with alpha='drop' (--alpha drop) or remove it from the file"
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
                f"[0, {peak:g}]; pass the right --data-range"
            )
    elif peak < _INTEGER_PEAKS[image.dtype]:
        hi = float(np.max(image))
        if hi > peak:
            raise ImageError(
                f"{name} image has values up to {hi:g}, above the data range {peak:g}; "
                "pass the right --data-range"
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
        hint = _turned((ref.shape[1], ref.shape[0]), (test.shape[1], test.shape[0]))
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
