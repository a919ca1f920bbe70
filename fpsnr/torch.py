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

One numeric contract with the numpy engine (reliability 2026-12, G10–G14): float16 and
bfloat16 inputs are computed in float32 (float16 sums overflowed at 65,504); finite
values outside [0, data_range] are refused, as the numpy engine refuses them (0–255
floats under the default range scored −14.75 dB), except the reconstruction given to
:class:`FovealMSELoss`, which a codec may push past the range while it trains; a
non-finite pixel makes NaN (or ±inf) exactly the quantities whose pixels hold it — the
frame, its regions, the periphery — and never a finite number or "the periphery is
empty"; :class:`~fpsnr.regions.model.Disc` objects are checked as regions are.

Disc masks are the numpy engine's exact ones (:func:`fpsnr.regions.discs.disc_window`),
held as the list of each disc's pixels, so memory grows with the discs' area, not with
K·H·W; per image the region sums are one gather and one segment sum (no loop over
regions or pixels), cached per region set and image size.
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
    periphery_pixels: torch.Tensor
    """``(B,)``: pixels outside every disc (0: the regions cover the frame)."""
    regions_per_image: torch.Tensor
    """``(B,)``: each image's number of regions (its columns of the region tables)."""


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
    if x.dtype.is_complex or x.dtype == torch.bool:
        raise ImageError(f"images must be real numbers; got {x.dtype}")
    peak = 1.0 if data_range is None else float(data_range)
    if not (math.isfinite(peak) and peak > 0):
        raise ParameterError(f"data_range must be a positive finite number; got {data_range}")
    return peak


def _check_range(t: torch.Tensor, peak: float, name: str) -> None:
    """Finite values must lie in [0, peak], as the numpy engine requires (non-finite ones propagate)."""
    if t.numel() == 0:
        raise ImageError(f"{name} is empty")
    values = t.detach()
    lo, hi = (float(v) for v in torch.aminmax(values))  # NaN or ±inf among them shows here
    if not (math.isfinite(lo) and math.isfinite(hi)):
        values = values[torch.isfinite(values)]  # (rare: only then the copy)
        if values.numel() == 0:
            return
        lo, hi = (float(v) for v in torch.aminmax(values))
    if lo < 0 or hi > peak:
        raise ImageError(
            f"{name} holds values in [{lo:g}, {hi:g}], outside [0, {peak:g}]: give data_range "
            f"(e.g. 255 for 0–255 values), or rescale the images"
        )


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
        for d in items:
            Region((d.x, d.y), d.radius, d.label or None)  # the checks of every region (a negative radius...)
        return tuple(items)
    if not all(isinstance(r, Region) for r in items):
        raise RegionsError(f"image {b}: regions must be fpsnr Region or Disc objects")
    return as_discs(items, width, height)


# --------------------------------------------------------------------------- masks


class _Masks(NamedTuple):
    rows: torch.Tensor  # (N,) which disc each listed pixel belongs to
    pixels: torch.Tensor  # (N,) the flat index (y·W + x) of each pixel of each disc
    counts: torch.Tensor  # (K,) pixel counts, in the computation dtype
    periphery: torch.Tensor  # (H·W,) 1 outside every disc
    periphery_count: int


_cache: BoundedCache[tuple[Any, ...], _Masks] = BoundedCache(
    512 << 20, lambda masks: masks.pixels.numel() * 16 + masks.periphery.numel() * 8, share=4
)
"""Masks per (discs, H, W, device, dtype)."""


def _build(
    discs: tuple[Disc, ...], height: int, width: int, device: torch.device, dtype: torch.dtype
) -> _Masks:
    import numpy as np

    from fpsnr.regions.discs import disc_window, empty_region

    rows, cols, counts = [], [], []
    union = np.zeros(height * width, dtype=bool)
    for k, d in enumerate(discs):
        ys, xs, inside, pixels = disc_window(d, height, width)
        if pixels == 0:
            raise empty_region(d, height, width)
        r, c = np.nonzero(inside)
        flat = (r + ys.start) * width + (c + xs.start)
        rows.append(np.full(flat.size, k, dtype=np.int64))
        cols.append(flat.astype(np.int64))
        counts.append(pixels)
        union[flat] = True
    return _Masks(
        rows=torch.from_numpy(np.concatenate(rows)).to(device),
        pixels=torch.from_numpy(np.concatenate(cols)).to(device),
        counts=torch.tensor(counts, dtype=dtype, device=device),
        periphery=torch.from_numpy(~union).to(device=device, dtype=dtype),
        periphery_count=int((~union).sum()),
    )


def _sums(masks: _Masks, se: torch.Tensor, finite: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared-error sums of every region and of the periphery for one image's ``se`` (H·W,).

    Each region sums its own pixels (a gather and a segment sum), so a non-finite pixel
    makes NaN or +inf exactly the regions that hold it. The periphery is one dot product
    when the image's total is ``finite``; otherwise its own pixels are summed, since
    0 · NaN in a product would make it NaN too.
    """
    regions = torch.zeros(masks.counts.shape[0], dtype=se.dtype, device=se.device)
    regions = regions.index_add(0, masks.rows, se[masks.pixels])
    if finite:
        return regions, masks.periphery @ se
    return regions, se[masks.periphery > 0].sum()


# --------------------------------------------------------------------------- the engine


def _squared_error(x: torch.Tensor, y: torch.Tensor, channel: str) -> tuple[torch.Tensor, int]:
    """Per-pixel squared error summed over the scored channels, ``(B, H·W)``, and C."""
    # float16/bfloat16 sum in float32 (float16 stops at 65,504); integers in float64
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else (
        torch.float32 if x.dtype.is_floating_point else torch.float64)  # fmt: skip
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
    return _scores(x, y, regions, data_range=data_range, channel=channel)


def _scores(
    x: torch.Tensor, y: torch.Tensor, regions: Any, *, data_range: float | None, channel: str,
    check_x: bool = True,
) -> FovealScores:  # fmt: skip
    peak = _check_pair(x, y, data_range)
    if check_x:
        _check_range(x, peak, "x")
    _check_range(y, peak, "y")
    batch, _, height, width = x.shape
    discs = _discs_per_image(regions, batch, height, width)
    se, c = _squared_error(x, y, channel)
    dtype = se.dtype
    k_max = max(len(d) for d in discs)
    nan = torch.full((k_max,), float("nan"), dtype=dtype, device=se.device)
    rows, outside, pixels = [], [], []
    total = se.sum(dim=1)
    finite = torch.isfinite(total).tolist()
    for b in range(batch):
        key = (tuple((d.x, d.y, d.radius) for d in discs[b]), height, width, str(se.device), dtype)
        masks = _cache.get(key, _build, discs[b], height, width, se.device, dtype)
        sse, periphery_sse = _sums(masks, se[b], finite[b])  # every region in one product
        rows.append(torch.cat([sse / (c * masks.counts), nan[len(discs[b]) :]]))
        count = masks.periphery_count
        outside.append(periphery_sse / (c * count) if count else nan[0])
        pixels.append(count)
    region = torch.stack(rows)
    periphery = torch.stack(outside)
    frame = total / (c * height * width)
    region_db = _db(region, peak)
    used = torch.stack([torch.arange(k_max, device=se.device) < len(d) for d in discs])
    counts = torch.tensor([len(d) for d in discs], dtype=dtype, device=se.device)
    # eq. 10 over each image's own regions: pads left out, a NaN region kept as NaN
    mean = torch.where(used, region_db, torch.zeros_like(region_db)).sum(dim=1) / counts
    return FovealScores(
        psnr=_db(frame, peak), region_mses=region, region_psnrs=region_db, mean_fpsnr=mean,
        periphery_psnr=_db(periphery, peak), periphery_mse=periphery,
        periphery_pixels=torch.tensor(pixels, device=se.device),
        regions_per_image=torch.tensor([len(d) for d in discs], device=se.device),
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
    empty = scores.periphery_pixels == 0
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
    peak = _check_pair(x, y, data_range)
    _check_range(x, peak, "x")
    _check_range(y, peak, "y")
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
        # the reconstruction may leave [0, data_range] while a codec trains; the target may not
        scores = _scores(x_hat, x, regions, data_range=self.data_range, channel=self.channel, check_x=False)
        f = torch.log if self.log else (lambda t: t)
        k_max = scores.region_mses.shape[1]
        used = torch.arange(k_max, device=x.device)[None, :] < scores.regions_per_image[:, None]
        terms = f(scores.region_mses)
        region_term = torch.where(used, terms, torch.zeros_like(terms)).sum(dim=1) / used.sum(dim=1)
        if self.fp == 0:
            per_image = region_term
        else:
            if bool((scores.periphery_pixels == 0).any()):
                raise EmptyRegionError("an image's regions cover the whole frame: no periphery for Fp > 0")
            periphery = f(scores.periphery_mse)
            per_image = periphery if self.fp == 1 else (1.0 - self.fp) * region_term + self.fp * periphery
        return per_image.mean()  # (a NaN pixel makes the loss NaN: the training loop skips the step)
