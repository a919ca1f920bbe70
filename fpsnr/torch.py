"""The foveal metrics on PyTorch tensors: batched, on any device, differentiable.

Needs only torch (part of the ``codec`` extra); ``import fpsnr`` never imports this
module. Images are ``(B, C, H, W)`` tensors, C = 1 (gray) or 3 (RGB); values in
``[0, data_range]`` (``data_range`` defaults to 1.0 for floating tensors and must be
given for integer ones). Each image has its own regions, given as

- a sequence of length B whose items are what :func:`fpsnr.score` takes for one image
  (a :class:`~fpsnr.regions.model.Regions` from a file, scaled to the image; or a sequence
  of :class:`~fpsnr.regions.model.Region` / :class:`~fpsnr.regions.model.Disc` in its pixels), or
- a padded ``(B, K, 3)`` tensor of (cx, cy, r) with an optional ``(B, K)`` boolean mask
  of the rows in use, as ``(discs, mask)``.

The definitions are those of SPEC §1 and the numpy engine (:mod:`fpsnr.metrics`):
pixel (x, y) is in a disc iff (x − xc)² + (y − yc)² ≤ R² evaluated in float64; F_MSE of
a region is its squared error summed over its pixels and channels over C·|Φ|; PSNR is
10·log10(MAX²/MSE) (+inf for a perfect match); mean F_PSNR averages the regions' dB
(eq. 10); M-FPSNR = (1 − Fp)·mean F_PSNR + Fp·periphery PSNR (eq. 11, a zero weight left
out). On float64 tensors every value equals the numpy engine's to 1e-9 dB (tested);
on float32 the sums round in float32 (agreement to about 1e-3 dB on 768 × 512 images).

Disc masks are built once per distinct region set and image size, in float64, and
kept in a small cache on the tensors' device; per image the region sums are one
matrix product (no loop over regions or pixels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import torch

from fpsnr.errors import EmptyRegionError, ImageError, ParameterError, RegionsError
from fpsnr.images.pairs import LUMA_WEIGHTS
from fpsnr.options import DEFAULT_FP, check_fp
from fpsnr.regions.discs import BoundedCache
from fpsnr.regions.model import Disc, Region, Regions, as_discs

__all__ = [
    "FovealMSELoss",
    "FovealMetric",
    "FovealScores",
    "foveal_scores",
    "m_fpsnr",
    "mean_fpsnr",
    "periphery_psnr",
    "psnr",
    "region_mses",
    "region_psnrs",
]

Reduction = Literal["none", "mean"]


class FovealScores(NamedTuple):
    """Per-image results of one batch (all shaped ``(B,)`` except the region tables)."""

    psnr: torch.Tensor
    region_mses: torch.Tensor
    """``(B, K_max)``: F_MSE of each region (numpy: ``fpsnr.metrics.region_mse``), NaN where an image
    has fewer regions."""
    region_psnrs: torch.Tensor
    """``(B, K_max)``: F_PSNR of each region in dB (numpy: ``fpsnr.region_psnr``), NaN padded."""
    mean_fpsnr: torch.Tensor
    periphery_psnr: torch.Tensor
    """NaN for an image whose regions cover it entirely (then only Fp = 0 is allowed)."""
    periphery_mse: torch.Tensor


# --------------------------------------------------------------------------- inputs


def _check_pair(x: torch.Tensor, y: torch.Tensor, data_range: float | None) -> float:
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise ImageError("x and y must be torch tensors of shape (B, C, H, W)")
    if x.ndim != 4 or x.shape != y.shape:
        raise ImageError(
            f"x and y must have the same (B, C, H, W) shape; got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.shape[1] not in (1, 3):
        raise ImageError(f"images must have 1 (gray) or 3 (RGB) channels; got {x.shape[1]}")
    if x.dtype != y.dtype:
        raise ImageError(f"x is {x.dtype} and y is {y.dtype}; give both the same dtype")
    if not x.dtype.is_floating_point and data_range is None:
        raise ImageError(f"integer tensors ({x.dtype}) need data_range (e.g. 255 for 8-bit values)")
    peak = 1.0 if data_range is None else float(data_range)
    if not (math.isfinite(peak) and peak > 0):
        raise ParameterError(f"data_range must be a positive finite number; got {data_range}")
    return peak


def _discs_per_image(regions: Any, batch: int, height: int, width: int) -> list[tuple[Disc, ...]]:
    if isinstance(regions, torch.Tensor) or (
        isinstance(regions, tuple) and len(regions) == 2 and isinstance(regions[0], torch.Tensor)
    ):
        table, mask = (regions, None) if isinstance(regions, torch.Tensor) else regions
        if table.ndim != 3 or table.shape[2] != 3 or table.shape[0] != batch:
            raise RegionsError(
                f"padded regions must be ({batch}, K, 3) of (cx, cy, r); got {tuple(table.shape)}"
            )
        values = table.detach().to("cpu", torch.float64).tolist()
        used = [[True] * table.shape[1]] * batch if mask is None else mask.detach().to("cpu").bool().tolist()
        out = []
        for b in range(batch):
            items = [
                Region((cx, cy), r) for (cx, cy, r), keep in zip(values[b], used[b], strict=True) if keep
            ]
            out.append(_resolve(items, b, height, width))
        return out
    if isinstance(regions, (Regions, Region, Disc)) or not isinstance(regions, Sequence):
        raise RegionsError(
            "regions must be one entry per image (a sequence of length B), or a (B, K, 3) tensor"
        )
    if len(regions) != batch:
        raise RegionsError(f"{len(regions)} region entries for a batch of {batch} images")
    return [_resolve(item, b, height, width) for b, item in enumerate(regions)]


def _resolve(item: Any, b: int, height: int, width: int) -> tuple[Disc, ...]:
    if isinstance(item, Regions):
        return as_discs(item, width, height)
    items = list(item)
    if not items:
        raise RegionsError(f"image {b} has no regions; give at least one")
    if all(isinstance(d, Disc) for d in items):
        return tuple(items)
    if not all(isinstance(r, Region) for r in items):
        raise RegionsError(f"image {b}: regions must be fpsnr Region or Disc objects")
    return as_discs(items, width, height)


# --------------------------------------------------------------------------- masks


class _Masks(NamedTuple):
    regions: torch.Tensor  # (K, H·W) in the computation dtype, 1 inside
    counts: torch.Tensor  # (K,) float64 pixel counts
    periphery: torch.Tensor  # (H·W,) 1 outside every disc
    periphery_count: int


_cache: BoundedCache[tuple[Any, ...], _Masks] = BoundedCache(
    512 << 20, lambda masks: masks.regions.numel() * masks.regions.element_size(), share=4
)
"""Masks per (discs, H, W, device, dtype)."""


def _build(
    discs: tuple[Disc, ...], height: int, width: int, device: torch.device, dtype: torch.dtype
) -> _Masks:
    f64 = torch.float64
    centre = torch.tensor([[d.x, d.y, d.radius] for d in discs], dtype=f64, device=device)
    dy = torch.arange(height, dtype=f64, device=device)[None, :, None] - centre[:, 1, None, None]
    dx = torch.arange(width, dtype=f64, device=device)[None, None, :] - centre[:, 0, None, None]
    r = centre[:, 2, None, None]
    inside = (dy * dy + dx * dx) <= r * r  # SPEC §1, float64, the numpy engine's order of operations
    flat = inside.reshape(len(discs), height * width)
    counts = flat.sum(dim=1).to(f64)
    empty = (counts == 0).nonzero().flatten().tolist()
    if empty:
        d = discs[empty[0]]
        raise EmptyRegionError(
            f"region {d.label!r} (centre ({d.x:g}, {d.y:g}), radius {d.radius:g}) holds no pixel of the "
            f"{width}×{height} image"
        )
    periphery = ~flat.any(dim=0)
    return _Masks(flat.to(dtype), counts, periphery.to(dtype), int(periphery.sum()))


# --------------------------------------------------------------------------- the engine


def _squared_error(x: torch.Tensor, y: torch.Tensor, channel: str) -> tuple[torch.Tensor, int]:
    """Per-pixel squared error summed over the scored channels, ``(B, H·W)``, and C."""
    dtype = x.dtype if x.dtype.is_floating_point else torch.float64
    a, b = x.to(dtype), y.to(dtype)
    if channel == "y" and a.shape[1] == 3:
        w0, w1, w2 = LUMA_WEIGHTS  # term by term, as images.luma rounds
        a = a[:, 0] * w0 + a[:, 1] * w1 + a[:, 2] * w2
        b = b[:, 0] * w0 + b[:, 1] * w1 + b[:, 2] * w2
        d = a - b
        return (d * d).flatten(1), 1
    if channel not in ("rgb", "y"):
        raise ParameterError(f"channel must be 'rgb' or 'y'; got {channel!r}")
    d = a - b
    return (d * d).sum(dim=1).flatten(1), a.shape[1]


def _db(mse: torch.Tensor, peak: float) -> torch.Tensor:
    return 10.0 * torch.log10(peak * peak / mse)


def foveal_scores(
    x: torch.Tensor,
    y: torch.Tensor,
    regions: Any,
    *,
    data_range: float | None = None,
    channel: str = "rgb",
) -> FovealScores:
    """Every foveal quantity of a batch in one pass (see the module docstring)."""
    peak = _check_pair(x, y, data_range)
    batch, _, height, width = x.shape
    discs = _discs_per_image(regions, batch, height, width)
    se, c = _squared_error(x, y, channel)
    dtype = se.dtype
    k_max = max(len(d) for d in discs)
    nan = torch.full((k_max,), float("nan"), dtype=dtype, device=se.device)
    rows, outside = [], []
    for b in range(batch):
        key = (tuple((d.x, d.y, d.radius) for d in discs[b]), height, width, str(se.device), dtype)
        masks = _cache.get(key, _build, discs[b], height, width, se.device, dtype)
        sse = masks.regions @ se[b]  # (K,): every region in one product
        rows.append(torch.cat([sse / (c * masks.counts.to(dtype)), nan[len(discs[b]) :]]))
        count = masks.periphery_count
        outside.append((masks.periphery @ se[b]) / (c * count) if count else nan[0])
    region = torch.stack(rows)
    periphery = torch.stack(outside)
    frame = se.sum(dim=1) / (c * height * width)
    region_db = _db(region, peak)
    counts = torch.tensor([len(d) for d in discs], dtype=dtype, device=se.device)
    mean = torch.nansum(region_db, dim=1) / counts  # eq. 10 (NaN pads left out, inf kept)
    return FovealScores(
        psnr=_db(frame, peak), region_mses=region, region_psnrs=region_db, mean_fpsnr=mean,
        periphery_psnr=_db(periphery, peak), periphery_mse=periphery,
    )  # fmt: skip


def _reduce(values: torch.Tensor, reduction: Reduction) -> torch.Tensor:
    if reduction == "none":
        return values
    if reduction == "mean":
        return values.mean(dim=0)
    raise ParameterError(f"reduction must be 'none' or 'mean'; got {reduction!r}")


def _combine(scores: FovealScores, fp: float) -> torch.Tensor:
    """Equation (11), a zero weight left out so inf·0 never makes NaN."""
    fp = check_fp(fp)
    if fp == 0:
        return scores.mean_fpsnr
    empty = torch.isnan(scores.periphery_mse)
    if bool(empty.any()):
        b = int(empty.nonzero()[0])
        raise EmptyRegionError(
            f"image {b}: the regions cover the whole frame, so the periphery is empty; use fp=0"
        )
    if fp == 1:
        return scores.periphery_psnr
    return (1.0 - fp) * scores.mean_fpsnr + fp * scores.periphery_psnr


def psnr(x: torch.Tensor, y: torch.Tensor, *, data_range: float | None = None, channel: str = "rgb",
         reduction: Reduction = "none") -> torch.Tensor:  # fmt: skip
    """Full-frame PSNR of each image (eq. 2), ``(B,)`` (or its mean)."""
    _check_pair(x, y, data_range)
    se, c = _squared_error(x, y, channel)
    return _reduce(_db(se.sum(dim=1) / (c * se.shape[1]), 1.0 if data_range is None else float(data_range)),
                   reduction)  # fmt: skip


def region_mses(x: torch.Tensor, y: torch.Tensor, regions: Any, *, data_range: float | None = None,
                channel: str = "rgb") -> torch.Tensor:  # fmt: skip
    """F_MSE of every region (eq. 8), ``(B, K_max)``, NaN where an image has fewer regions.

    The table of what ``fpsnr.metrics.region_mse`` gives for one region of one image.
    """
    return foveal_scores(x, y, regions, data_range=data_range, channel=channel).region_mses


def region_psnrs(x: torch.Tensor, y: torch.Tensor, regions: Any, *, data_range: float | None = None,
                 channel: str = "rgb") -> torch.Tensor:  # fmt: skip
    """F_PSNR of every region in dB (eq. 9), ``(B, K_max)``, NaN padded.

    The table of what :func:`fpsnr.region_psnr` gives for one region of one image.
    """
    return foveal_scores(x, y, regions, data_range=data_range, channel=channel).region_psnrs


def mean_fpsnr(x: torch.Tensor, y: torch.Tensor, regions: Any, *, data_range: float | None = None,
               channel: str = "rgb", reduction: Reduction = "none") -> torch.Tensor:  # fmt: skip
    """Mean F_PSNR over each image's regions (eq. 10), ``(B,)`` (or its mean)."""
    return _reduce(foveal_scores(x, y, regions, data_range=data_range, channel=channel).mean_fpsnr, reduction)


def periphery_psnr(x: torch.Tensor, y: torch.Tensor, regions: Any, *, data_range: float | None = None,
                   channel: str = "rgb", reduction: Reduction = "none") -> torch.Tensor:  # fmt: skip
    """PSNR of each image's periphery Φ_0, ``(B,)`` (NaN where the regions cover the frame)."""
    scores = foveal_scores(x, y, regions, data_range=data_range, channel=channel)
    return _reduce(scores.periphery_psnr, reduction)


def m_fpsnr(x: torch.Tensor, y: torch.Tensor, regions: Any, *, fp: float = DEFAULT_FP,
            data_range: float | None = None, channel: str = "rgb", reduction: Reduction = "none",
            ) -> torch.Tensor:  # fmt: skip
    """M-FPSNR of each image (eq. 11), ``(B,)`` (or its mean over the batch)."""
    scores = foveal_scores(x, y, regions, data_range=data_range, channel=channel)
    return _reduce(_combine(scores, fp), reduction)


# --------------------------------------------------------------------------- in a training loop


class FovealMetric:
    """A torchmetrics-style accumulator: ``update`` per batch, ``compute`` the means, ``reset``.

    It averages dB per image over every image seen — the convention of ``fpsnr batch``
    tables and of CompressAI's results (not the dB of a pooled MSE). No torchmetrics
    dependency; values are kept on the CPU in float64.
    """

    def __init__(
        self, *, fp: float = DEFAULT_FP, data_range: float | None = None, channel: str = "rgb"
    ) -> None:
        self.fp = check_fp(fp)
        self.data_range = data_range
        self.channel = channel
        self.reset()

    def reset(self) -> None:
        self._values: dict[str, list[torch.Tensor]] = {k: [] for k in ("psnr", "mean_fpsnr", "periphery_psnr",
                                                                          "m_fpsnr")}  # fmt: skip

    @torch.no_grad()
    def update(self, x: torch.Tensor, y: torch.Tensor, regions: Any) -> None:
        scores = foveal_scores(x, y, regions, data_range=self.data_range, channel=self.channel)
        values = {"psnr": scores.psnr, "mean_fpsnr": scores.mean_fpsnr,
                  "periphery_psnr": scores.periphery_psnr, "m_fpsnr": _combine(scores, self.fp)}  # fmt: skip
        for key, value in values.items():
            self._values[key].append(value.detach().to("cpu", torch.float64))

    def compute(self) -> dict[str, float]:
        """Mean over images of each quantity (inf if any image was a perfect match)."""
        if not self._values["psnr"]:
            raise ParameterError("no images yet: call update() first")
        return {key: float(torch.cat(parts).mean()) for key, parts in self._values.items()}


class FovealMSELoss(torch.nn.Module):
    """The M-FPSNR objective as a differentiable weighting of region MSEs.

    ``D = mean over images of [(1 − Fp)/K · Σ_j F_MSE_j + Fp · MSE_0]`` (K regions of the
    image, MSE_0 the periphery's), in the units of MSE so it drops into ``λ·D + R`` with
    CompressAI's λ scale. Relation to equation (11): with eq. (9),
    ``M-FPSNR = 10·log10(MAX²) − 10·[(1 − Fp)/K · Σ_j log10 F_MSE_j + Fp · log10 MSE_0]``,
    i.e. M-FPSNR is the same weighting of the *log* MSEs. By the weighted AM–GM
    inequality ``D ≥ MAX² · 10^(−M-FPSNR/10)``, with equality when all region MSEs are
    equal, so lowering D raises a lower bound on M-FPSNR; and the gradient of
    −M-FPSNR is that of D with each weight divided by its own F_MSE (``log=True`` uses
    the log form directly: ``(1 − Fp)/K · Σ ln F_MSE_j + Fp · ln MSE_0``, which equals
    −M-FPSNR · ln(10)/10 + const exactly). Fp = 0 drops the periphery, Fp = 1 the regions.
    """

    def __init__(self, fp: float = DEFAULT_FP, *, channel: str = "rgb", data_range: float | None = None,
                 log: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.fp = check_fp(fp)
        self.channel = channel
        self.data_range = data_range
        self.log = log

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor, regions: Any) -> torch.Tensor:
        scores = foveal_scores(x_hat, x, regions, data_range=self.data_range, channel=self.channel)
        f = torch.log if self.log else (lambda t: t)
        used = (~torch.isnan(scores.region_mses)).sum(dim=1)
        region_term = torch.nansum(f(scores.region_mses), dim=1) / used
        if self.fp == 0:
            per_image = region_term
        else:
            if bool(torch.isnan(scores.periphery_mse).any()):
                raise EmptyRegionError("an image's regions cover the whole frame: no periphery for Fp > 0")
            periphery = f(scores.periphery_mse)
            per_image = periphery if self.fp == 1 else (1.0 - self.fp) * region_term + self.fp * periphery
        return per_image.mean()
