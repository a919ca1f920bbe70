"""Budgets checked before work: how big an input may claim to be before fpsnr refuses it.

A file's header says how much memory decoding it will take; a hostile or broken file
can claim gigabytes in a few bytes (a PNG of zeros, a bitstream header, a weights
file's metadata). Every reader checks the claim against a budget *before* it
allocates, so such a file costs milliseconds and one line, not the machine.

- Images: at most :func:`max_pixels` pixels (default 2²⁸ ≈ 268 M, e.g. 16384 × 16384),
  read from the header before decoding. Raise it with ``fpsnr --max-pixels N`` or the
  ``FPSNR_MAX_PIXELS`` environment variable (the CLI option sets the variable, so
  worker processes see it too).
- The learned codec: at most :func:`codec_max_pixels` = max_pixels / 32 (default 2²³ ≈
  8.4 M, a 4K UHD frame), because its activations cost hundreds of bytes per pixel
  (a 4096 × 4096 decode was measured at 9.4 GB: about 560 bytes per pixel, N = 128), and at most
  :data:`MAX_CODEC_CHANNELS` channels N, M in a weights file.
- Text inputs (regions JSON): at most :data:`MAX_TEXT_BYTES` bytes, counted while
  reading, so pipes and devices such as ``/dev/zero`` are bounded too.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from fpsnr.errors import FpsnrError, ParameterError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_CDF_LENGTH",
    "MAX_CHECKPOINT_BYTES",
    "MAX_CODEC_CHANNELS",
    "MAX_LATENT",
    "MAX_TEXT_BYTES",
    "check_checkpoint_size",
    "check_codec_pixels",
    "check_pixels",
    "codec_max_pixels",
    "max_pixels",
    "read_bounded",
    "read_capped",
]

DEFAULT_MAX_PIXELS = 1 << 28
"""Default image budget in pixels (width × height)."""
CODEC_SHARE = 32
"""The codec's pixel budget is the image budget divided by this."""
MAX_CODEC_CHANNELS = 1024
"""Largest N or M a weights file may declare (CompressAI's largest models use 320)."""
MAX_TEXT_BYTES = 64 * 1024 * 1024
"""Largest regions file, in bytes."""
MAX_CDF_LENGTH = 4096
"""Widest symbol range an entropy bottleneck's learned density may span (its ``quantiles``).

The CDF tables CompressAI builds are this long per channel; fpsnr's trained models span
47–48 symbols, CompressAI starts at 21. ±1e4 took 55 s and 1.6 GB, ±1e7 asked for 10 GB.
"""
MAX_CHECKPOINT_BYTES = 1 << 30
"""Largest PyTorch checkpoint ``codec convert`` and ``pretrained import`` read, unpacked.

CompressAI's published checkpoints are under 50 MB; a model at the channel limit
(N = M = 1024) is about 0.4 GB. A zip member is sized from the archive's directory
before ``torch.load`` inflates it: a 3 MB file unpacked to 3 GiB (G9).
"""
MAX_LATENT = 1 << 20
"""Largest magnitude of a latent (y or z) the entropy coder is given: CompressAI's rANS
escape code loops without end on NaN, and for ever longer on |y| near 2²⁷."""
ENV = "FPSNR_MAX_PIXELS"


def max_pixels() -> int:
    """The image pixel budget: ``FPSNR_MAX_PIXELS`` if set, else :data:`DEFAULT_MAX_PIXELS`."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return DEFAULT_MAX_PIXELS
    try:
        number = int(value.replace("_", ""))
    except ValueError:
        number = 0
    if number <= 0:
        raise ParameterError(f"{ENV}={value!r}: expected a positive whole number of pixels")
    return number


def codec_max_pixels() -> int:
    """The learned codec's pixel budget: :func:`max_pixels` / 32."""
    return max(1, max_pixels() // CODEC_SHARE)


def _refusal(what: str, width: int, height: int, limit: int, raise_to: int) -> str:
    return (
        f"{what}: {width}×{height} = {width * height:,} pixels, more than the limit of {limit:,}; "
        f"if it is a real image, raise the limit with {{max_pixels}}{raise_to}"
    )


def check_pixels(what: str, width: int, height: int) -> str | None:
    """A one-line refusal if a ``width`` × ``height`` image exceeds the budget, else None."""
    limit = max_pixels()
    if width * height > limit:
        return _refusal(what, width, height, limit, width * height)
    return None


def check_codec_pixels(what: str, width: int, height: int) -> str | None:
    """A one-line refusal if the codec's budget does not allow the image, else None."""
    limit = codec_max_pixels()
    if width * height > limit:
        return _refusal(f"{what} (learned codec)", width, height, limit, width * height * CODEC_SHARE)
    return None


def check_checkpoint_size(handle: BinaryIO, path: str | os.PathLike[str], error: type[FpsnrError]) -> None:
    """Refuse a checkpoint that unpacks (or, not a zip, holds) more than :data:`MAX_CHECKPOINT_BYTES`.

    Sized from the zip directory before anything inflates or hashes it (reliability G9);
    ``handle`` is left at the start of the file.
    """
    from fpsnr.files import zip_unpacked_size

    unpacked = zip_unpacked_size(handle)
    size = os.fstat(handle.fileno()).st_size if unpacked is None else unpacked
    handle.seek(0)
    if size > MAX_CHECKPOINT_BYTES:
        raise error(
            f"{path}: {'unpacks to' if unpacked is not None else 'holds'} {size:,} bytes, more than any "
            f"checkpoint of these models (limit {MAX_CHECKPOINT_BYTES:,}; CompressAI's are under 50 MB); "
            "nothing was read"
        )


def read_capped(
    path: str | os.PathLike[str], limit: int, error: type[FpsnrError], *, noun: str = "file",
    expected: str = "a file", regular: bool = False,
) -> bytes | None:  # fmt: skip
    """The bytes of ``path``, at most ``limit`` of them (None if it holds more).

    A missing file, a folder or a read error is ``error`` with one line naming the path.
    With ``regular``, a device or pipe is refused too (:func:`fpsnr.files.open_regular`);
    without, it is read, counted, up to ``limit``.
    """
    from pathlib import Path

    from fpsnr.files import open_regular, read_error

    try:
        if regular:
            with open_regular(path, error, noun=noun, expected=expected) as raw:
                return read_bounded(raw, limit)
        with Path(path).open("rb") as handle:
            return read_bounded(handle, limit)
    except FpsnrError:
        raise
    except OSError as err:
        raise read_error(path, err, error, noun=noun, expected=expected) from err


def read_text(
    path: str | os.PathLike[str], limit: int, error: type[FpsnrError], *, noun: str, expected: str
) -> str:
    """The UTF-8 text of ``path`` (a byte-order mark is not content), at most ``limit`` bytes.

    Too large, unreadable or not UTF-8: ``error`` in one line naming the path.
    """
    data = read_capped(path, limit, error, noun=noun, expected=expected)
    if data is None:
        raise error(f"{path}: larger than the {limit}-byte limit for a {noun}")
    try:
        return data.decode("utf-8-sig")  # Windows Notepad writes a byte-order mark
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err


def read_bounded(handle: object, limit: int) -> bytes | None:
    """Read at most ``limit`` bytes from a binary file object; None if there are more.

    Counts what it reads rather than trusting ``st_size``, which is 0 for pipes and
    character devices.
    """
    read = getattr(handle, "read")  # noqa: B009 - any binary file object
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = read(min(1 << 20, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            return None
