"""Bjøntegaard delta rate between RD curves of an RD CSV (SPEC §5).

Curves are first averaged per (codec, rate point) over images — mean bpp and mean
metric, as CompressAI reports Kodak results; curves over different images are refused
(:mod:`fpsnr.rd.images`) — then compared with the ``bjontegaard``
package (Akima interpolation by default; PCHIP and cubic on request). Fewer than 4
points, or a curve whose metric does not rise with the rate, is an error; a small
overlap of the two curves' quality ranges is a warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fpsnr.errors import ParameterError
from fpsnr.options import DEFAULT_FP
from fpsnr.rd.images import require_same_images

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BDResult", "average_curve", "bd_rate", "metric_column"]

METRICS = ("psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr", "ms_ssim")
METHODS = ("akima", "pchip", "cubic")


def metric_column(metric: str, fp: float | None = None) -> str:
    """The RD CSV column of a metric; ``m_fpsnr`` needs its Fp (``m_fpsnr_fp0.5``)."""
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    if metric == "m_fpsnr":
        from fpsnr.rd.schema import fp_column

        return fp_column(DEFAULT_FP if fp is None else fp)
    return metric


@dataclass(frozen=True)
class BDResult:
    anchor: str
    test: str
    metric: str
    method: str
    bd_rate: float
    """Percent: negative means the test codec needs fewer bits for the same quality."""
    overlap: float
    """Share of the narrower quality range covered by both curves (0–1)."""
    points: tuple[int, int]


RATES = ("bpp", "kbps")
"""Rate axes: bits per pixel (images and video) or kilobits per second (video RD files)."""


def rate_column(rd: pd.DataFrame, rate: str) -> str:
    """``rate`` if the RD table has it, else a one-line error."""
    if rate not in RATES:
        raise ParameterError(f"unknown rate axis {rate!r}; choose from {', '.join(RATES)}")
    if rate not in rd.columns:
        raise ParameterError(f"the RD file has no {rate} column (image RD files have bpp; video ones both)")
    return rate


def average_curve(rd: pd.DataFrame, codec: str, column: str, rate: str = "bpp") -> tuple[Any, Any]:
    """Mean rate (``bpp`` or ``kbps``) and mean metric per rate point of one codec, sorted by rate."""
    rows = rd[rd["codec"] == codec]
    if rows.empty:
        known = ", ".join(sorted(rd["codec"].astype(str).unique()))
        has = f"the file has {known}" if known else "the file has no rows"
        raise ParameterError(f"no rows for codec {codec!r}; {has}")
    if column not in rd.columns:
        raise ParameterError(f"the RD file has no column {column!r}; {_what_it_has(rd)}")
    failed = rows[rows["error"].fillna("").astype(str) != ""]
    if not failed.empty:
        raise ParameterError(
            f"codec {codec!r} has {len(failed)} failed row(s) (see the error column); "
            "averages over different image sets are not comparable"
        )
    counts = rows.groupby("rate_point")["image"].nunique()
    if counts.nunique() > 1:
        raise ParameterError(
            f"codec {codec!r}: rate points cover different numbers of images ({dict(counts)})"
        )
    means = rows.groupby("rate_point")[[rate_column(rd, rate), column]].mean().sort_values(rate)
    return means[rate].to_numpy(dtype=float), means[column].to_numpy(dtype=float)


def _what_it_has(rd: pd.DataFrame) -> str:
    """The metrics and M-FPSNR Fps an RD table holds, for a message about one it lacks."""
    metrics = [m for m in METRICS if m != "m_fpsnr" and m in rd.columns]
    fps = [c.removeprefix("m_fpsnr_fp") for c in rd.columns if str(c).startswith("m_fpsnr_fp")]
    have = ", ".join(metrics) or "no plain metric"
    return f"it has {have}, and M-FPSNR at Fp {', '.join(fps)}" if fps else f"it has {have} and no M-FPSNR"


def _check_curve(name: str, rate: Any, dist: Any) -> None:
    if len(rate) < 4:
        raise ParameterError(f"{name}: {len(rate)} rate point(s); BD-rate needs at least 4")
    if not (np.all(np.isfinite(rate)) and np.all(np.isfinite(dist))):
        raise ParameterError(f"{name}: non-finite rates or qualities (a perfect match gives inf dB)")
    if np.any(np.diff(rate) <= 0) or np.any(np.diff(dist) <= 0):
        raise ParameterError(f"{name}: the curve is not monotonic (quality must rise with the rate)")


def bd_rate(
    rd: pd.DataFrame,
    anchor: str,
    test: str,
    *,
    metric: str = "psnr",
    fp: float | None = None,
    method: str = "akima",
    rate: str = "bpp",
) -> BDResult:
    """BD-rate of ``test`` against ``anchor`` under one metric, in percent, along ``rate``."""
    if method not in METHODS:
        raise ParameterError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    import bjontegaard

    column = metric_column(metric, fp)
    require_same_images(rd, [anchor, test])
    r1, d1 = average_curve(rd, anchor, column, rate)
    r2, d2 = average_curve(rd, test, column, rate)
    _check_curve(anchor, r1, d1)
    _check_curve(test, r2, d2)
    low, high = max(d1.min(), d2.min()), min(d1.max(), d2.max())
    overlap = max(0.0, high - low) / min(d1.max() - d1.min(), d2.max() - d2.min())
    if overlap <= 0:
        raise ParameterError(f"the {anchor} and {test} curves do not overlap in {column}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overlap is reported by us, once
        value: Any = bjontegaard.bd_rate(r1, d1, r2, d2, method=method, require_matching_points=False)
    return BDResult(anchor, test, column, method, float(value), float(min(overlap, 1.0)), (len(r1), len(r2)))
