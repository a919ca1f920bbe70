"""Typed errors raised by the library.

Library code raises these and never prints or exits; the command line turns them into
one-line messages with exit status 1. Each error is also a built-in exception type
(``ValueError`` or ``OSError``) so callers can catch it without importing fpsnr.
"""

from __future__ import annotations


class FpsnrError(Exception):
    """Base class of every error fpsnr raises on purpose."""


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
