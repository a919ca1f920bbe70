"""Rate–distortion evaluation: the RD table, the loop that fills it, anchors, BD-rate, plots.

The face of the part: run the classical anchors (:func:`run_anchors`) or any
:class:`RDCodec` (:func:`run_rd`), write the rows crash-safe (:func:`write_rd_run`), read
RD files back (:func:`read_rd_csvs`), compare curves (:func:`bd_rate`) and draw them
(:func:`plot_rd`). Modules: :mod:`~fpsnr.rd.schema` (columns, rate points, one row),
:mod:`~fpsnr.rd.loop`, :mod:`~fpsnr.rd.rdfile` (files), :mod:`~fpsnr.rd.anchors` (JPEG,
WebP and JPEG 2000 through OpenCV, AVIF through Pillow), :mod:`~fpsnr.rd.bdrate`, :mod:`~fpsnr.rd.plots`,
:mod:`~fpsnr.rd.quality` (MS-SSIM). The learned codec's adapter is :mod:`fpsnr.codec.rd`.
"""

from fpsnr.rd.anchors import run_anchors
from fpsnr.rd.bdrate import bd_rate
from fpsnr.rd.loop import run_rd
from fpsnr.rd.plots import plot_rd
from fpsnr.rd.rdfile import read_rd_csv, read_rd_csvs, write_rd_run
from fpsnr.rd.schema import Coded, RatePoint, RDCodec

__all__ = [
    "Coded",
    "RDCodec",
    "RatePoint",
    "bd_rate",
    "plot_rd",
    "read_rd_csv",
    "read_rd_csvs",
    "run_anchors",
    "run_rd",
    "write_rd_run",
]
