"""Typed errors raised by the library, and the remedies their messages name.

Library code raises these and never prints or exits; the command line turns them into
one-line messages with exit status 1. Each error is also a built-in exception type
(``ValueError`` or ``OSError``) so callers can catch it without importing fpsnr.

A message says what to change as a remedy field, ``{resume}``: ``str(err)`` writes it in
the library's words (:data:`REMEDIES`: ``resume=True``), and the command line in its own
(the flag, ``--resume``; ``fpsnr.cli.options.FLAGS``). So the library never names a flag,
and the command line always does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

REMEDIES: dict[str, str] = {
    "resume": "resume=True",
    "overwrite": "overwrite=True",
    "retry_errors": "retry_errors=True",
    "another_out": "another output",
    "data_range": "data_range",
    "alpha_drop": "alpha='drop'",
    "exif_apply": "exif='apply'",
    "max_pixels": "FPSNR_MAX_PIXELS=",
    "regions_image": "image=",
    "missing_regions": "missing_regions='center' or 'suggest'",
    "label": "labels",
    "scheduler": "scheduler",
    "parquet": "Parquet output",
    "weights": "a weights file",
    "device_cpu": "device='cpu'",
    "cuda_graphs": "cuda_graphs",
    "compile": "compile",
    "max_steps": "max_steps",
    "max_minutes": "max_minutes",
    "patch": "patch",
    "regions": "regions",
    "one_worker": "workers=1",
    "init": "init=",
    "size": "size=",
    "pix_fmt": "pix_fmt=",
    "frames": "frames=",
    "skip": "skip=",
    "frame_rate": "frame_rate=",
}
"""Each remedy field a message may hold, in the library's words (its parameters)."""

_FIELD = re.compile(r"\{(\w+)\}")


def say(text: str, words: Mapping[str, str]) -> str:
    """``text`` with each remedy field (``{resume}``) written as ``words`` says it.

    Braces around anything that is not a remedy stay as they are.
    """
    return _FIELD.sub(lambda m: words.get(m[1], REMEDIES[m[1]]) if m[1] in REMEDIES else m[0], text)


def template(err: BaseException) -> str:
    """The message of ``err`` with its remedy fields unwritten (for rows worded later)."""
    return Exception.__str__(err) if isinstance(err, FpsnrError) else str(err)


def worded(row: dict[str, object], words: Mapping[str, str]) -> dict[str, object]:
    """A result row whose ``error`` (a :func:`template`) is written as ``words`` says."""
    error = row.get("error")
    if isinstance(error, str) and "{" in error:
        return {**row, "error": say(error, words)}
    return row


class FpsnrError(Exception):
    """Base class of every error fpsnr raises on purpose.

    Its message may hold remedy fields (see the module docstring): ``str(err)`` writes
    them in the library's words, :meth:`say` in any others.
    """

    def say(self, words: Mapping[str, str]) -> str:
        """The message with its remedy fields written as ``words`` says them."""
        return say(super().__str__(), words)

    def __str__(self) -> str:
        return self.say(REMEDIES)


class ImageError(FpsnrError, ValueError):
    """An image cannot be scored: wrong shape, dtype, channels or value range."""


class ImageReadError(FpsnrError, OSError):
    """An image file is missing, unreadable, truncated or not an image."""


class RegionsError(FpsnrError, ValueError):
    """A regions file or region list is malformed or does not fit the image."""


class EmptyRegionError(RegionsError):
    """A region, or the periphery, holds no pixel of the image."""


class ParameterError(FpsnrError, ValueError):
    """An option has a value outside its domain (for example Fp outside [0, 1])."""


class VideoError(FpsnrError, ValueError):
    """A video cannot be read or scored: bad header, unknown pixel format, mismatched sequences."""


class OutputError(FpsnrError, OSError):
    """An output cannot be written: unwritable folder, full disk, or another run holds it."""


class CodecError(FpsnrError, ValueError):
    """The learned codec cannot do what was asked (bad weights, bad model name...)."""


class CodecUnavailableError(CodecError):
    """The ``codec`` extra (torch, compressai, safetensors) is not installed."""


class BitstreamError(CodecError):
    """A compressed file is truncated, corrupted, foreign or asks for absurd sizes."""


class DesyncError(BitstreamError):
    """The decoder's hyperprior disagrees with the encoder's: its output would be garbage."""
