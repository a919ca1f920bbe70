"""The learned codec of the paper (SPEC §4).

The Ballé 2018 scale hyperprior, with and without the channel-attention block.

Needs the ``codec`` extra (torch, compressai, safetensors); ``import fpsnr`` never
imports this package. Layers → models → coder, as in CompressAI:

- :mod:`fpsnr.codec.layers` — the CBAM channel-attention block (paper eq. 12);
- :mod:`fpsnr.codec.models` — one registry record per model name;
- :mod:`fpsnr.codec.weights` — safetensors weights with metadata, the CompressAI converter;
- :mod:`fpsnr.codec.bitstream` — the versioned file format (no torch needed);
- :mod:`fpsnr.codec.coder` — image → bytes → image, with desync detection.
- :mod:`fpsnr.codec.lean` — imports only the part of CompressAI the codec uses.
"""

from __future__ import annotations

import warnings

from fpsnr.errors import CodecUnavailableError

__all__ = ["MODEL_NAMES", "require_codec"]

MODEL_NAMES = ("bmshj2018-hyperprior", "bmshj2018-hyperprior-attn")
"""Every registered model name, readable without torch (the CLI's choices, the plots'
learned codecs). :mod:`fpsnr.codec.models` holds one registry record per name and
refuses to import if the two disagree."""


def require_codec() -> None:
    """Import the codec's dependencies or raise a one-line installation hint."""
    try:
        with warnings.catch_warnings():
            # compressai 1.2.8 calls torch.jit.script at import; torch ≥ 2.10 warns about it
            warnings.simplefilter("ignore", FutureWarning)
            from fpsnr.codec.lean import import_compressai

            import_compressai()
            import safetensors  # noqa: F401
            import torch  # noqa: F401
    except ImportError as err:
        raise CodecUnavailableError(
            f"the codec needs the 'codec' extra ({err.name} is missing): pip install -e '.[codec]' "
            "in the fpsnr checkout (fpsnr is not on PyPI)"
        ) from err
