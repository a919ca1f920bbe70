"""RD curves (the paper's Figure 6) and the Table 2 ratio, from an RD CSV.

matplotlib is imported on use, with the non-interactive Agg backend.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fpsnr.codec import MODEL_NAMES
from fpsnr.errors import ParameterError
from fpsnr.rd.bdrate import metric_column, rate_column
from fpsnr.rd.images import image_name, require_same_images

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["plot_rd", "ratio_table"]

_LABELS = {
    "psnr": "PSNR",
    "mean_fpsnr": "mean F_PSNR",
    "periphery_psnr": "periphery PSNR",
    "ms_ssim": "MS-SSIM",
}


def check_figure_format(out: str | os.PathLike[str]) -> None:
    """Refuse, before drawing, a file extension matplotlib cannot write."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    ext = os.path.splitext(os.fspath(out))[1].lower().lstrip(".")
    if ext not in formats:
        raise ParameterError(
            f"{out}: cannot write a figure as {ext or 'a file without extension'!r}; "
            f"use one of {', '.join(sorted(formats))} (png recommended)"
        )


def _ok(rd: pd.DataFrame) -> pd.DataFrame:
    return rd[rd["error"].fillna("").astype(str) == ""]


_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")  # fmt: skip
_MARKERS = "osD^vP*Xph"
_KNOWN = ("bmshj2018-hyperprior", "bmshj2018-hyperprior-attn", "jpeg", "webp", "jp2", "avif")
"""Codecs with a fixed place in the palette; any other name is placed by a hash of itself."""


def codec_style(codec: str, *, learned: bool) -> tuple[str, str, Any]:
    """Colour, marker and line style of a codec: the same in every figure, whatever else is drawn.

    Learned codecs are solid lines (a dash pattern per codec), anchors dashed. The style
    follows from the name alone, so a paper's figures agree on every codec.
    """
    import zlib

    n = _KNOWN.index(codec) if codec in _KNOWN else zlib.crc32(codec.encode("utf-8", "surrogateescape"))
    dashes = ("-", "-.", (0, (5, 1))) if learned else ("--", ":", (0, (3, 1, 1, 1)))
    return _COLORS[n % len(_COLORS)], _MARKERS[n % len(_MARKERS)], dashes[n % len(dashes)]


def plot_rd(
    rd: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    metric: str = "psnr",
    fp: float | None = None,
    title: str | None = None,
    learned: Collection[str] = MODEL_NAMES,
    references: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    codecs: Collection[str] | None = None,
    rate: str = "bpp",
) -> None:
    """One curve per codec: mean rate (``bpp``, or ``kbps`` for video) against mean metric, per rate point.

    Codecs named in ``learned`` (default: every registered model) are drawn as solid
    lines with circles, the others (anchors) dashed with squares. ``references`` adds
    published curves, ``{label: (bpp values, metric values)}``, dotted, for comparison.
    ``xlim`` limits the bpp axis (the quality axis follows the points inside it);
    without it, when learned codecs are present, the axis spans their rates (anchors
    reach far beyond and would squeeze the curves that matter). ``codecs`` keeps only
    those codecs. Each codec has one colour, marker and line style in every figure
    (:func:`codec_style`); the legend sits outside the axes, right of the curves. The
    codecs drawn must cover the same images (:mod:`fpsnr.rd.images`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    column = metric_column(metric, fp)
    if column not in rd.columns:
        raise ParameterError(f"the RD file has no column {column!r}")
    check_figure_format(out)
    rate_column(rd, rate)
    good = _ok(rd)
    if codecs:
        unknown = sorted(set(codecs) - set(good["codec"]))
        if unknown:
            known = ", ".join(sorted(set(good["codec"])))
            raise ParameterError(f"no successful rows for codec {unknown[0]!r}; the RD rows have: {known}")
        good = good[good["codec"].isin(list(codecs))]
    if good.empty:
        raise ParameterError("the RD file has no successful rows to plot")
    require_same_images(good, sorted(set(good["codec"])))
    fig, ax = plt.subplots(figsize=(7.6, 4.8), dpi=120)
    learned_rates: list[float] = []
    for codec, rows in good.groupby("codec", sort=True):
        curve = rows.groupby("rate_point")[[rate, column]].mean().sort_values(rate)
        is_learned = codec in learned or str(codec).startswith("compressai-")
        if is_learned:
            learned_rates += curve[rate].tolist()
        color, marker, dashes = codec_style(str(codec), learned=is_learned)
        ax.plot(curve[rate], curve[column], linestyle=dashes, color=color, marker=marker, markersize=4,
                linewidth=1.6 if is_learned else 1.1, label=str(codec))  # fmt: skip
    if xlim is None and learned_rates and len(set(good["codec"])) > 1:
        lo, hi = min(learned_rates), max(learned_rates)
        pad = 0.15 * (hi - lo or hi or 1.0)
        xlim = (max(0.0, lo - pad), hi + pad)
    for name, (rates, values) in (references or {}).items():
        ax.plot(rates, values, ":x", color="black", markersize=4, label=name)
    label = _LABELS.get(metric, f"M-FPSNR (Fp = {column.removeprefix('m_fpsnr_fp')})")
    if xlim is not None:
        ax.set_xlim(*xlim)
        inside: list[float] = []
        for line in ax.get_lines():
            xs = np.asarray(line.get_xdata(), dtype=float)
            ys = np.asarray(line.get_ydata(), dtype=float)
            inside += ys[(xs >= xlim[0]) & (xs <= xlim[1])].tolist()
        if inside:
            pad = 0.03 * (max(inside) - min(inside) or 1.0)
            ax.set_ylim(min(inside) - pad, max(inside) + pad)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("bits per pixel" if rate == "bpp" else "kbit/s")
    fp_text = column.removeprefix("m_fpsnr_fp") if column.startswith("m_fpsnr_fp") else None
    if metric == "ms_ssim":
        ax.set_ylabel(label)
    else:
        ax.set_ylabel(f"M-FPSNR (dB), Fp = {fp_text}" if fp_text else f"{label} (dB)")
    images = good["image"].map(image_name).nunique()
    what = "sequence" if "frames" in good.columns else "image"
    ax.set_title(title or f"{label} against rate, mean over {images} {what}{'' if images == 1 else 's'}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(os.fspath(out))
    plt.close(fig)


def ratio_table(rd: pd.DataFrame, codec: str, fps: list[float]) -> pd.DataFrame:
    """Table 2: 100 · (M-FPSNR / PSNR − 1) in percent, rate point × Fp, mean over images.

    The ratio is taken per image and then averaged, with an ``average`` column over Fp.
    An image whose PSNR or M-FPSNR is infinite (a lossless point) has no ratio and is
    left out of the mean; a cell with no image left is NaN (it read −100 % before).
    """
    good = _ok(rd)
    rows = good[good["codec"] == codec]
    if rows.empty:
        known = ", ".join(sorted(set(good["codec"])))
        raise ParameterError(f"no successful rows for codec {codec!r}; the RD rows have: {known}")
    require_same_images(rows, [codec])
    table = {}
    for fp in fps:
        column = metric_column("m_fpsnr", fp)
        if column not in rows.columns:
            raise ParameterError(f"the RD file has no column {column!r}")
        ratio = 100 * (rows[column] / rows["psnr"] - 1)
        finite = np.isfinite(rows[column]) & np.isfinite(rows["psnr"])
        table[f"Fp={fp:g}"] = ratio.where(finite).groupby(rows["rate_point"]).mean()
    import pandas as pd

    out = pd.DataFrame(table)
    out["average"] = out.mean(axis=1)
    bpp = rows.groupby("rate_point")["bpp"].mean()
    out.insert(0, "bpp", bpp)
    return out.loc[bpp.sort_values().index]
