"""Codec models, one registry record per name (SPEC §4).

Both models keep CompressAI's ``bmshj2018-hyperprior`` parameter names for g_a, g_s,
h_a, h_s and the entropy models, so a baseline state dict loads into the attention
model, which only adds ``g_a.attn.*`` and ``g_s.attn.*``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fpsnr.codec import MODEL_NAMES, require_codec
from fpsnr.codec.layers import ChannelAttention
from fpsnr.errors import CodecError

require_codec()

import warnings  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from compressai.models import ScaleHyperprior

__all__ = [
    "MODELS", "AttentionScaleHyperprior", "DefaultWeights", "ModelSpec", "build_model", "get_spec",
]  # fmt: skip


class _AttentionLast(nn.Sequential):
    """A CompressAI Sequential with attention applied after its layers (``.attn``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name, module in self._modules.items():
            if name != "attn" and module is not None:
                x = module(x)
        attn = self._modules["attn"]
        assert attn is not None
        return attn(x)  # type: ignore[no-any-return]


class _AttentionFirst(nn.Sequential):
    """A CompressAI Sequential with attention applied before its layers (``.attn``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attn = self._modules["attn"]
        assert attn is not None
        x = attn(x)
        for name, module in self._modules.items():
            if name != "attn" and module is not None:
                x = module(x)
        return x


class AttentionScaleHyperprior(ScaleHyperprior):  # type: ignore[misc]
    """The scale hyperprior with channel attention at the end of g_a and the start of g_s.

    Attention acts on y before quantisation and the hyper-analysis, and on ŷ before
    synthesis (SPEC §4). Everything else, names included, is CompressAI's
    ``ScaleHyperprior(N, M)``.
    """

    def __init__(self, N: int, M: int, reduction: int = 64) -> None:
        super().__init__(N, M)
        g_a = _AttentionLast(*self.g_a)  # type: ignore[has-type]
        g_a.add_module("attn", ChannelAttention(M, reduction))
        g_s = _AttentionFirst(*self.g_s)  # type: ignore[has-type]
        g_s.add_module("attn", ChannelAttention(M, reduction))
        self.g_a = g_a
        self.g_s = g_s

    def make_identity_attention(self) -> None:
        """Make the attention blocks compute nothing: the plain model's function, exactly.

        W1 = 0 in both blocks gives σ(0) = 0.5 on every channel; g_a's last convolution
        (weight and bias) and g_s's first deconvolution (weight) are doubled to make up for
        it. Scaling by powers of two is exact in floating point, so x̂, the likelihoods and
        the bitstream equal the plain model's bit for bit. Used whenever the attention
        model starts from plain hyperprior weights (``codec convert``, ``train --init``);
        training then moves W1 away from zero. Equation 12 itself is unchanged; only its
        starting point is.
        """
        g_a: Any = self.g_a
        g_s: Any = self.g_s
        with torch.no_grad():
            for block in (g_a.attn, g_s.attn):
                block.fc1.weight.zero_()
            last = g_a[-2]  # the last convolution; index -1 is the attention block
            last.weight.mul_(2)
            last.bias.mul_(2)
            g_s[0].weight.mul_(2)


@dataclass(frozen=True)
class DefaultWeights:
    """Weights shipped inside the package for a model, with what they measured on Kodak.

    The Kodak numbers are means over the 24 images from the project's Kodak study of
    2026-11-26 (real bitstreams, CPU decode, the shipped Kodak regions, ``--regions kodak``);
    they are facts about these files, not about the architecture.
    """

    file: str
    """File name in ``fpsnr/codec/defaults/``."""
    kodak_bpp: float
    kodak_psnr: float
    kodak_mean_fpsnr: float
    kodak_m_fpsnr: float
    """M-FPSNR at Fp = 0.5."""

    @property
    def path(self) -> Path:
        return Path(str(resources.files("fpsnr.codec").joinpath("defaults", self.file)))


@dataclass(frozen=True)
class ModelSpec:
    """One model name: how to build it, what it is, and its shipped weights."""

    name: str
    build: Callable[[int, int], nn.Module]
    description: str
    default_n: int = 128
    default_m: int = 192
    default_weights: DefaultWeights | None = None


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "bmshj2018-hyperprior",
            lambda n, m: ScaleHyperprior(n, m),
            "Ballé 2018 scale hyperprior (CompressAI bmshj2018-hyperprior)",
            default_weights=DefaultWeights(
                "bmshj2018-hyperprior-0.0130.safetensors", 0.6303, 31.4960, 30.6336, 31.1780
            ),
        ),
        ModelSpec(
            "bmshj2018-hyperprior-attn",
            lambda n, m: AttentionScaleHyperprior(n, m),
            "the same with CBAM channel attention (r = 64) after g_a and before g_s",
            default_weights=DefaultWeights(
                "bmshj2018-hyperprior-attn-0.0130.safetensors", 0.6415, 31.5382, 30.6745, 31.2193
            ),
        ),
    )
}


if tuple(MODELS) != MODEL_NAMES:  # one registry: the torch-free name list must follow it
    raise ImportError(f"fpsnr.codec.MODEL_NAMES {MODEL_NAMES} differs from the registry {tuple(MODELS)}")


def get_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise CodecError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None


def build_model(name: str, n: int | None = None, m: int | None = None) -> nn.Module:
    """A freshly initialised model of the registry, in eval mode, on the CPU."""
    spec = get_spec(name)
    model = spec.build(n or spec.default_n, m or spec.default_m)
    model.eval()
    return model
