"""Reading and writing image files, and finding them in folders.

Images are numpy arrays in RGB(A) channel order: ``(H, W)`` grayscale, ``(H, W, 3)``
colour or ``(H, W, 4)`` colour with alpha. Files are decoded with OpenCV exactly as
stored: 16-bit PNG/TIFF keep their depth, and EXIF orientation is *not* applied unless
asked for (both images of a pair are read the same way, and codecs see the stored pixels
too). Every size is checked against the pixel budget before anything is decoded.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.errors import ImageError, ImageReadError
from fpsnr.files import check_path
from fpsnr.limits import check_pixels, max_pixels, read_capped

__all__ = [
    "IMAGE_EXTENSIONS",
    "exif_orientation",
    "find_images",
    "orient",
    "read_image",
    "read_pair",
    "turned_hint",
    "write_image",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
"""File extensions treated as images when scanning folders."""
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
    the size to apply its own budget. Two formats OpenCV decodes and Pillow cannot
    parse have readers of their own: TIFFs of float, int32 or float64 samples (through
    tifffile, which reads the directory only) and Radiance HDR (its text header). A file
    whose size none of them reads is refused before decoding (:func:`_decode`).
    """
    from PIL import Image

    prefix = bytes(data[:16])
    # As Image.open does: the common formats' plugins first (Image.preinit: BMP, GIF, JPEG,
    # PPM, PNG); every plugin (Image.init, some 40 modules to import) only when none of
    # those reads the file, and the plugins without a signature test (TGA, IM, …) last:
    # trying them costs a failed open each.
    Image.preinit()
    common = [n for n in Image.ID if _signed(Image.OPEN[n][1], prefix)]
    size = _plugin_size(common, data)
    if size is None:
        Image.init()
        rest = [n for n in Image.ID if n not in common and _signed(Image.OPEN[n][1], prefix)]
        size = _plugin_size(rest + [n for n in Image.ID if Image.OPEN[n][1] is None], data)
    if size is not None:
        return size
    if prefix[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _tiff_size(data)
    if prefix.startswith((b"#?RADIANCE", b"#?RGBE")):
        return _radiance_size(data)
    return None


def _plugin_size(names: list[str], data: bytes | memoryview) -> tuple[int, int] | None:
    """The size the first of these Pillow format plugins reads from the header, None if none can."""
    from PIL import Image

    for name in names:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                image = Image.OPEN[name][0](io.BytesIO(data), "")
                width, height = image.size
                image.close()
            return int(width), int(height)
        except Exception:
            continue
    return None


def _tiff_size(data: bytes | memoryview) -> tuple[int, int] | None:
    """The first page's size of a TIFF (the page OpenCV decodes), from its directory."""
    import tifffile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tifffile.TiffFile(io.BytesIO(data)) as tiff:
                page = tiff.pages[0]
                if not isinstance(page, tifffile.TiffPage):
                    return None
                return int(page.imagewidth), int(page.imagelength)
    except Exception:  # tifffile raises many types for a damaged directory
        return None


_RADIANCE_SIZE = re.compile(rb"([-+])([XY]) +(\d+) +([-+])([XY]) +(\d+)")


def _radiance_size(data: bytes | memoryview) -> tuple[int, int] | None:
    """A Radiance HDR's size from the resolution line after its header's blank line."""
    head = bytes(data[: 64 << 10])
    end = head.find(b"\n\n")
    if end < 0:
        return None
    line = head[end + 2 :].split(b"\n", 1)[0].strip()
    found = _RADIANCE_SIZE.fullmatch(line)
    if found is None or found[2] == found[5]:
        return None
    first, second = int(found[3]), int(found[6])
    return (second, first) if found[2] == b"Y" else (first, second)


def _signed(accept: Callable[[bytes], Any] | None, prefix: bytes) -> bool:
    """Whether a Pillow plugin's signature test accepts the file's first bytes."""
    if accept is None:
        return False
    try:
        return accept(prefix) is True
    except Exception:
        return False


def _read_bytes(p: Path) -> bytes:
    # A regular file only: a device never ends (/dev/zero) and a pipe blocks, and either
    # would be read up to the byte cap, gigabytes, before a word (reliability G22).
    limit = max_pixels() * _MAX_BYTES_PER_PIXEL + (1 << 20)
    data = read_capped(p, limit, ImageReadError, expected="an image file", regular=True)
    if data is None:
        raise ImageReadError(
            f"{p}: more than {limit:,} bytes, larger than any image within the pixel limit; "
            "if this is a real image, raise the limit with {max_pixels}N"
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
        PNG, JPEG, BMP, TIFF (any sample type), WebP, PNM, Radiance HDR: the formats
        OpenCV decodes whose size fpsnr reads from the header first (any other file is
        refused, not decoded unsized).

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
    check_path("path", path, ImageReadError)
    p = Path(path)
    data, size = _load(p)
    return _decode(p, data, size, exif=exif)


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) of an image file as stored (before any EXIF turn), from its header alone.

    The same bounded read and one-line errors as :func:`read_image`, which refuses a file
    whose header gives no size; no pixel is decoded.
    """
    check_path("path", path, ImageReadError)
    p = Path(path)
    data, size = _load(p)
    if size is None:
        _decode(p, data, None, exif=False)  # raises read_image's error: no size in the header
    assert size is not None
    return size


def _load(p: Path) -> tuple[bytes, tuple[int, int] | None]:
    """The file's bytes (bounded) and the (width, height) its header claims, if known."""
    data = _read_bytes(p)
    if not data:
        raise ImageReadError(f"{p}: file is empty, expected an image")
    return data, _header_size(data)


def _decode(
    p: Path, data: bytes, size: tuple[int, int] | None, *, exif: bool, rgb: bool = True
) -> npt.NDArray[np.generic]:
    """Pixels of an encoded image, the header's size checked against the budget first.

    ``rgb=False`` keeps the decoder's BGR(A) order (no conversion pass).
    """
    if size is None:
        # OpenCV would decode it in full before its size could be checked: a 14 kB float
        # TIFF or an HDR of 20000 × 20000 took 9.4 GB (reliability G6)
        raise ImageReadError(
            f"{p}: cannot decode as an image (truncated, corrupt or not an image file: no size in its "
            "header; fpsnr reads PNG, JPEG, BMP, TIFF, WebP, PNM and Radiance HDR)"
        )
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
    decoded: npt.NDArray[np.generic] = image
    if rgb and decoded.ndim == 3 and decoded.shape[2] in (3, 4):
        decoded = _rgb(decoded)
    upright: npt.NDArray[np.generic] = orient(decoded, exif_orientation(data)) if exif else decoded
    return np.ascontiguousarray(upright)


_CVT_DEPTHS = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))
"""The depths OpenCV's colour conversion takes; a TIFF may hold others (int32, float64, …)."""


def _rgb(bgr: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    """BGR(A) → RGB(A) in one contiguous copy.

    OpenCV's own conversion where it takes the dtype (one vectorised pass); otherwise the
    channels are copied one by one into a new array, which works for every dtype.
    """
    if bgr.dtype in _CVT_DEPTHS:
        code = cv2.COLOR_BGR2RGB if bgr.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
        rgb: npt.NDArray[np.generic] = cv2.cvtColor(bgr, code)  # type: ignore[arg-type]
        return rgb
    out = np.empty_like(bgr)
    for dst, src in enumerate((2, 1, 0, 3)[: bgr.shape[2]]):
        out[:, :, dst] = bgr[:, :, src]
    return out


def _first_line(err: cv2.error) -> str:
    """The useful part of an OpenCV error: its first line, without the source file and line."""
    lines = [line.strip() for line in str(err.msg or err).splitlines() if line.strip()]
    text = lines[0] if lines else "OpenCV error"
    return text.split(" error: ", 1)[-1]


def read_pair(
    ref: str | os.PathLike[str], test: str | os.PathLike[str], *, exif: bool = False, rgb: bool = True
) -> tuple[npt.NDArray[np.generic], npt.NDArray[np.generic]]:
    """Read a reference and a test image, comparing their header sizes before decoding.

    A size mismatch is known from the headers alone: it is reported without decoding
    either image, which matters when one of them is huge. With ``exif=True`` both are
    turned upright by their EXIF orientation (then sizes are compared after decoding).
    ``rgb=False`` leaves colour images in the decoder's BGR(A) order, for a caller whose
    result does not depend on the order of the colour channels (PSNR pooled over them).
    """
    p_ref, p_test = Path(ref), Path(test)
    (ref_data, ref_size), (test_data, test_size) = _load(p_ref), _load(p_test)  # each file read once
    if not exif and ref_size is not None and test_size is not None and ref_size != test_size:
        (rw, rh), (tw, th) = ref_size, test_size
        hint = turned_hint(ref_size, test_size)
        raise ImageError(f"test image is {tw}×{th} pixels; the reference is {rw}×{rh}{hint}")
    return (
        _decode(p_ref, ref_data, ref_size, exif=exif, rgb=rgb),
        _decode(p_test, test_data, test_size, exif=exif, rgb=rgb),
    )


def turned_hint(ref_size: tuple[int, int], test_size: tuple[int, int]) -> str:
    """A hint when one size is the other turned by 90°: EXIF orientation is the usual cause."""
    if ref_size == test_size[::-1] and ref_size[0] != ref_size[1]:
        return "; one is the other turned by 90°: if a file has an EXIF orientation tag, pass {exif_apply}"
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
