"""The tidy RD table of SPEC §5: its columns, a rate point, and the row of one coded image.

One row per codec × rate point × image, with the rate from real bytes and every
quality number from the core engine on the decoded 8-bit image:

``codec, rate_point, quality, image, width, height, bytes, bpp, psnr, mean_fpsnr,
periphery_psnr, m_fpsnr_fp<Fp>… (one column per Fp of the sweep), ms_ssim,
encode_seconds, decode_seconds, error``

A codec follows the small :class:`RDCodec` interface: the classical anchors
(:mod:`fpsnr.rd.anchors`) and the learned codec (:mod:`fpsnr.codec.rd`, which needs
torch) are two adapters of it. A decoded image that holds NaN or inf, or any failure,
is a row with ``error`` set and the numbers empty — never a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from fpsnr.errors import FpsnrError, ParameterError, template
from fpsnr.metrics import score_pair
from fpsnr.options import SWEEP_FPS, ScoreOptions
from fpsnr.rd.quality import ms_ssim
from fpsnr.regions.model import Regions

__all__ = [
    "DEFAULT_FPS",
    "Coded",
    "RDCodec",
    "RDKey",
    "RatePoint",
    "failed_row",
    "fp_column",
    "rd_columns",
    "rd_row",
]

DEFAULT_FPS = SWEEP_FPS


def fp_column(fp: float) -> str:
    """Column of M-FPSNR at one Fp: ``m_fpsnr_fp0.5``."""
    return f"m_fpsnr_fp{float(fp):g}"


def rd_columns(fps: Sequence[float]) -> list[str]:
    head = ["codec", "rate_point", "quality", "image", "width", "height", "bytes", "bpp"]
    metrics = ["psnr", "mean_fpsnr", "periphery_psnr", *[fp_column(fp) for fp in fps], "ms_ssim"]
    return [*head, *metrics, "encode_seconds", "decode_seconds", "error"]


@dataclass(frozen=True)
class RatePoint:
    """One point of a codec's RD curve: the ``codec``, ``rate_point`` and ``quality`` cells."""

    codec: str
    rate_point: str
    quality: float


@dataclass(frozen=True)
class Coded:
    """An image through a codec and back: the bytes it cost and what came out."""

    nbytes: int
    encode_seconds: float
    decoded: npt.NDArray[np.generic]
    decode_seconds: float


class RDCodec(Protocol):
    """What :func:`run_rd` needs of a codec."""

    def points(self) -> Sequence[RatePoint]:
        """The rate points, in the order their rows are written."""
        ...

    def check(self, reference: npt.NDArray[np.generic], image: str) -> None:
        """Raise :class:`~fpsnr.errors.FpsnrError` if this codec cannot code the image."""
        ...

    def code(self, reference: npt.NDArray[np.generic], point: RatePoint, image: str) -> Coded:
        """Encode and decode ``image`` at one rate point; failures are :class:`FpsnrError`."""
        ...


def rd_row(
    *,
    codec: str,
    rate_point: str,
    quality: float,
    image: str,
    reference: npt.NDArray[np.generic],
    decoded: npt.NDArray[np.generic] | None,
    nbytes: int,
    encode_seconds: float,
    decode_seconds: float,
    regions: Regions | None,
    fps: Sequence[float],
    error: str | None = None,
    options: ScoreOptions | None = None,
    with_ms_ssim: bool = True,
) -> dict[str, Any]:
    """One RD CSV row; the metrics come from :func:`fpsnr.score_pair` and :func:`ms_ssim`.

    ``options`` scores the pair (default: the default settings at the Fp of ``fps``);
    its Fp list must be ``fps``, the M-FPSNR columns of the file. ``with_ms_ssim=False``
    leaves the MS-SSIM cell empty (it is the slowest number of the row).
    """
    opts = options or ScoreOptions(fps=tuple(fps))
    if tuple(opts.fps) != tuple(float(fp) for fp in fps):
        raise ParameterError(f"the options score Fp {list(opts.fps)} but the RD columns are {list(fps)}")
    height, width = reference.shape[:2]
    row: dict[str, Any] = dict.fromkeys(rd_columns(fps))
    row.update(codec=codec, rate_point=rate_point, quality=quality, image=image, width=width, height=height)
    if error is None and decoded is not None and decoded.dtype.kind == "f" and not np.isfinite(decoded).all():
        error = "decoded image holds NaN or inf values"
    if error is None and regions is None:
        error = "no regions for this image"
    if error is None and decoded is not None and regions is not None:
        try:
            scores = score_pair(reference, decoded, regions, opts)
            row.update(
                bytes=nbytes,
                bpp=8 * nbytes / (width * height),
                psnr=scores[0].psnr,
                mean_fpsnr=scores[0].mean_fpsnr,
                periphery_psnr=scores[0].periphery_psnr,
                ms_ssim=ms_ssim(reference, decoded) if with_ms_ssim else None,
                encode_seconds=encode_seconds,
                decode_seconds=decode_seconds,
            )
            for fp, s in zip(fps, scores, strict=True):
                row[fp_column(fp)] = s.m_fpsnr
        except FpsnrError as err:
            error = template(err)
    row["error"] = error or ""
    return row


def failed_row(point: RatePoint, image: str, message: str, fps: Sequence[float]) -> dict[str, Any]:
    """A row for a rate point that could not even start (unreadable image, no regions)."""
    row: dict[str, Any] = dict.fromkeys(rd_columns(fps))
    row.update(codec=point.codec, rate_point=point.rate_point, quality=point.quality, image=image,
               error=message)  # fmt: skip
    return row


RDKey = tuple[str, str, str]
"""(codec, rate point, image): one row of an RD table."""
