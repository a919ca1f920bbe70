"""Frozen result records. One place (:mod:`fpsnr.formatting`) turns them into text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RegionScore", "Score"]


@dataclass(frozen=True)
class RegionScore:
    """F_MSE and F_PSNR of one foveal region Φ_j (equations 8 and 9)."""

    label: str
    center: tuple[float, float]
    """Centre (x, y) in pixels of the scored image (after resolution scaling)."""
    radius: float
    pixels: int
    """|Φ_j|: pixels of the image inside the disc."""
    mse: float
    fpsnr: float
    """F_PSNR(Φ_j) in dB; ``inf`` for a perfect match unless capped by ``max_db``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "center": list(self.center),
            "radius": self.radius,
            "pixels": self.pixels,
            "mse": self.mse,
            "fpsnr": self.fpsnr,
        }


@dataclass(frozen=True)
class Score:
    """The full M-FPSNR result of one image pair at one foveal factor Fp.

    Fields mirror the JSON that ``fpsnr score --format json`` writes.
    """

    ref: str | None
    test: str | None
    width: int
    height: int
    channels: int
    """Channels of the input images (1 gray, 3 colour), alpha dropped."""
    channel: str
    """What was scored: ``"rgb"`` (all channels pooled) or ``"y"`` (BT.601 luma)."""
    peak: float
    """MAX of equation (2), from the dtype or ``data_range``."""
    fp: float
    psnr: float
    """Full-frame PSNR, equation (2)."""
    mean_fpsnr: float
    """Mean F_PSNR over the foveal regions, equation (10)."""
    periphery_psnr: float | None
    """F_PSNR(Φ_0); ``None`` when the discs cover the frame (allowed only at Fp = 0)."""
    m_fpsnr: float
    """M-FPSNR, equation (11)."""
    regions: tuple[RegionScore, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values, keys in the documented order (floats may be inf)."""
        return {
            "ref": self.ref,
            "test": self.test,
            "width": self.width,
            "height": self.height,
            "channels": self.channels,
            "channel": self.channel,
            "peak": self.peak,
            "fp": self.fp,
            "psnr": self.psnr,
            "mean_fpsnr": self.mean_fpsnr,
            "periphery_psnr": self.periphery_psnr,
            "m_fpsnr": self.m_fpsnr,
            "regions": [r.to_dict() for r in self.regions],
        }


@dataclass(frozen=True)
class RoundtripResult:
    """One image through the codec and back, scored by the core engine."""

    image: str
    model: str
    weights: str
    lmbda: float
    width: int
    height: int
    bytes: int
    payload_bytes: int
    bpp_payload: float
    bpp_file: float
    encode_seconds: float
    decode_seconds: float
    psnr: float
    scores: tuple[Score, ...]
    """One per Fp; empty when no regions were given."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "model": self.model,
            "weights": self.weights,
            "lmbda": self.lmbda,
            "width": self.width,
            "height": self.height,
            "bytes": self.bytes,
            "payload_bytes": self.payload_bytes,
            "bpp_payload": self.bpp_payload,
            "bpp_file": self.bpp_file,
            "encode_seconds": self.encode_seconds,
            "decode_seconds": self.decode_seconds,
            "psnr": self.psnr,
            "scores": [s.to_dict() for s in self.scores],
        }
