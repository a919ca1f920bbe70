"""The learned codec of the paper (SPEC §4).

The Ballé 2018 scale hyperprior, with and without the channel-attention block.

Needs the ``codec`` extra (torch, compressai, safetensors); ``import fpsnr`` never
imports this package, and this ``__init__`` imports no torch (``MODEL_NAMES`` serves the
CLI's choices). ``fpsnr.codec.load(name_or_path) -> Codec`` with ``.encode(image)``,
``.decode(data)`` and ``.info`` is the way in. Layers → models → weights → coder, as in
CompressAI:

- :mod:`~fpsnr.codec.layers` — the CBAM channel-attention block (paper eq. 12);
- :mod:`~fpsnr.codec.models` — one registry record per model name;
- :mod:`~fpsnr.codec.weights` — safetensors weights with metadata, loaded into a model;
- :mod:`~fpsnr.codec.convert` — CompressAI checkpoints into fpsnr weights;
- :mod:`~fpsnr.codec.pretrained` — CompressAI's trained hyperpriors by name, cached;
- :mod:`~fpsnr.codec.bitstream` — the versioned file format (no torch needed);
- :mod:`~fpsnr.codec.coder` — image → bytes → image, with desync detection; :class:`Codec`;
- :mod:`~fpsnr.codec.isolation` — the rANS decoder in a child process;
- :mod:`~fpsnr.codec.rd` — the learned codec as an RD codec, one image's round trip;
- :mod:`~fpsnr.codec.training` — training, split by job;
- ``_compressai`` (private) — every reach into CompressAI's internals, in one place.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

from fpsnr.errors import CodecUnavailableError

if TYPE_CHECKING:
    from fpsnr.codec.coder import Codec

__all__ = ["MODEL_NAMES", "Codec", "CompressAIVersionWarning", "load", "require_codec"]

MODEL_NAMES = ("bmshj2018-hyperprior", "bmshj2018-hyperprior-attn")
"""Every registered model name, readable without torch (the CLI's choices, the plots'
learned codecs). :mod:`fpsnr.codec.models` holds one registry record per name and
refuses to import if the two disagree."""


def require_codec() -> None:
    """Import the codec's dependencies or raise a one-line installation hint."""
    global _checked
    try:
        from fpsnr.codec._compressai import import_for_library, version_note

        import_for_library()  # nothing more when the fpsnr command imported its lean part first
        import safetensors  # noqa: F401
        import torch  # noqa: F401
    except ImportError as err:
        raise CodecUnavailableError(
            f"the codec needs the 'codec' extra ({err.name} is missing): pip install -e '.[codec]' "
            "in the fpsnr checkout (fpsnr is not on PyPI)"
        ) from err
    if not _checked:
        _checked = True
        note = version_note()
        if note is not None:
            warnings.warn(note, CompressAIVersionWarning, stacklevel=2)


_checked = False


class CompressAIVersionWarning(UserWarning):
    """The installed CompressAI is not the release fpsnr's codec was verified with."""


def load(name_or_path: str | os.PathLike[str], *, model: str | None = None, device: str = "cpu") -> Codec:
    """The codec of a model name, pretrained name or weights file (:func:`fpsnr.codec.coder.load`)."""
    require_codec()
    from fpsnr.codec.coder import load as load_codec

    return load_codec(name_or_path, model=model, device=device)


def __getattr__(name: str) -> Any:
    """``Codec`` is importable from here without importing torch until it is asked for."""
    if name == "Codec":
        require_codec()
        from fpsnr.codec.coder import Codec

        return Codec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
