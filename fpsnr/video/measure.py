"""Per-frame sums and values of a video pair on its native planes (SPEC §7).

Each frame's Y, U and V planes are summed by the image engine
(:func:`fpsnr.metrics.measure_plane`): the frame, each disc and the periphery, exactly
(integers for 8- to 16-bit samples). Discs live on the luma grid; on subsampled chroma
a sample is inside a disc when its footprint — the sx × sy luma samples it covers
(2 × 2 for 4:2:0) — holds at least one luma sample of the disc. So every chroma sample
that colours a pixel of the disc counts, a disc with a luma sample always has a chroma
sample, and the chroma siting (left, centre, top-left) cannot change a number: it
moves where a sample is drawn, not which luma samples it covers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.errors import EmptyRegionError, ParameterError
from fpsnr.metrics import Measurement, m_fpsnr_of, psnr_from_mse
from fpsnr.options import DEFAULT_FP, check_fp, check_max_db
from fpsnr.regions.discs import disc_window
from fpsnr.regions.model import DEFAULT_FOVEAL_ANGLE, DEFAULT_VIEWING_DISTANCE, Disc, check_radius_settings
from fpsnr.results import Score
from fpsnr.sums import PlaneSums, Window, measure_plane
from fpsnr.video.source import Frame, VideoFormat

__all__ = [
    "PEAKS", "RULES", "FrameScore", "FrameSums", "FrameWindows", "VideoOptions", "combine", "measure_frame",
    "peak_of",
]  # fmt: skip

Rule = Literal["6:1:1", "4:1:1-db", "4:1:1-mse"]
RULES: tuple[str, ...] = ("6:1:1", "4:1:1-db", "4:1:1-mse")
"""Combined Y′CbCr rules: 6:1:1 and 4:1:1 of per-plane dB (JVET, CompressAI video), or
PSNR of the plane-area-weighted MSE (ffmpeg's ``average``, HM's YUV-PSNR)."""
PEAKS: tuple[str, ...] = ("full", "hm")
"""Peak conventions: ``full`` 2^b − 1 (ffmpeg, libvmaf); ``hm`` 255·2^(b−8) (HM, VTM)."""


@dataclass(frozen=True)
class VideoOptions:
    """How a video pair is scored: combined rule, peak, cap, Fps and the default radius."""

    rule: Rule = "6:1:1"
    peak: Literal["full", "hm"] = "full"
    max_db: float | None = None
    fps: tuple[float, ...] = (DEFAULT_FP,)
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ParameterError(f"rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        if self.peak not in PEAKS:
            raise ParameterError(f"peak must be 'full' or 'hm', got {self.peak!r}")
        check_max_db(self.max_db)
        fps = tuple(check_fp(fp) for fp in self.fps)
        if not fps:
            raise ParameterError("give at least one Fp")
        object.__setattr__(self, "fps", fps)
        check_radius_settings(self.viewing_distance, self.foveal_angle)


def peak_of(bit_depth: int, convention: str) -> float:
    """MAX of equation (2) for ``bit_depth``-bit samples under a peak convention."""
    if convention == "hm":
        return 255.0 * 2.0 ** (bit_depth - 8)
    return float((1 << bit_depth) - 1)


def combine(
    rule: str, sse: Sequence[int | float], samples: Sequence[int], peak: float, max_db: float | None
) -> float:
    """The combined PSNR of Y, U, V sums under ``rule`` (each plane's dB capped first)."""
    if rule == "4:1:1-mse":
        return psnr_from_mse(sum(sse) / sum(samples), peak, max_db=max_db)
    y, u, v = (psnr_from_mse(s / n, peak, max_db=max_db) for s, n in zip(sse, samples, strict=True))
    w = 6.0 if rule == "6:1:1" else 4.0
    return (w * y + u + v) / (w + 2.0)


# --------------------------------------------------------------------------- discs on the planes


class FrameWindows:
    """Where each disc of a frame lies on the luma and chroma planes, built once a frame.

    Y, U and V share one build of each disc. The windows of the frame before are kept
    for the discs that recur — static regions are built once per sequence — and the rest
    forgotten, so a moving disc costs one build per frame and nothing piles up (the image
    engine's disc cache is for regions reused over many test images). On subsampled
    chroma a sample is in when its footprint holds a luma sample of the disc
    (:func:`_pooled`, from the frame's luma window).
    """

    def __init__(self, fmt: VideoFormat) -> None:
        self.sx, self.sy = fmt.subsampling
        self.luma_size = (fmt.height, fmt.width)
        self._now: dict[tuple[Any, ...], Window] = {}
        self._before: dict[tuple[Any, ...], Window] = {}

    def next_frame(self) -> None:
        self._before, self._now = self._now, {}

    def _get(self, key: tuple[Any, ...], build: Callable[[], Window]) -> Window:
        found = self._now.get(key)
        if found is None:
            found = self._before.pop(key, None)
            if found is None:
                found = build()
            self._now[key] = found
        return found

    def luma(self, disc: Disc, height: int, width: int) -> Window:
        key = ("y", disc.x, disc.y, disc.radius, height, width)
        return self._get(key, lambda: disc_window(disc, height, width, keep=False))

    def chroma(self, disc: Disc, height: int, width: int) -> Window:
        if self.sx == self.sy == 1:
            return self.luma(disc, height, width)
        key = ("c", disc.x, disc.y, disc.radius, height, width)
        return self._get(
            key, lambda: _pooled(self.luma(disc, *self.luma_size), self.sx, self.sy, height, width)
        )


def _pooled(luma: Window, sx: int, sy: int, ch: int, cw: int) -> Window:
    """The chroma samples whose footprint holds a luma sample of the disc.

    The disc's exact luma mask, placed on a grid of whole footprints, is OR-pooled over
    each footprint: a chroma sample is in exactly when the luma mask says one of its
    samples is. For 4:2:x the two columns of a footprint are read as one 16-bit word
    (non-zero when either is in) and its two rows OR-ed, a few whole-array operations
    instead of a test per sample.
    """
    rows, cols, inside, _ = luma
    cy0, cx0 = rows.start // sy, cols.start // sx
    cy1, cx1 = min(-(-rows.stop // sy), ch), min(-(-cols.stop // sx), cw)
    h, w = max(cy1 - cy0, 0), max(cx1 - cx0, 0)
    if not (h and w and inside.size):
        return slice(cy0, cy1), slice(cx0, cx1), np.zeros((h, w), np.uint8), 0
    oy, ox = rows.start - cy0 * sy, cols.start - cx0 * sx
    grid = np.zeros((h * sy, w * sx), np.uint8)  # whole footprints; luma beyond the frame is out
    grid[oy : oy + inside.shape[0], ox : ox + inside.shape[1]] = inside
    # footprints are 1 or 2 samples along each axis (CHROMA: 4:2:0, 4:2:2, 4:4:4)
    pooled: npt.NDArray[Any] = grid.view(np.uint16) if sx == 2 else grid  # a column pair per word
    if sy == 2:
        pooled = np.bitwise_or(pooled[0::2], pooled[1::2])
    out = np.not_equal(pooled, 0).view(np.uint8)
    return slice(cy0, cy1), slice(cx0, cx1), out, cv2.countNonZero(out)


# --------------------------------------------------------------------------- one frame


@dataclass(frozen=True)
class FrameSums:
    """Sums of squared errors of one frame: each plane's frame, discs and periphery."""

    index: int
    discs: tuple[Disc, ...]
    planes: tuple[PlaneSums, PlaneSums, PlaneSums]
    samples: tuple[int, int, int]


def measure_frame(
    index: int, ref: Frame, test: Frame, discs: Sequence[Disc], windows: FrameWindows
) -> FrameSums:
    """The Y, U and V sums of one frame pair (discs in luma pixels, placed by ``windows``)."""
    windows.next_frame()
    y = measure_plane(ref.y, test.y, discs, windows.luma)
    u = measure_plane(ref.u, test.u, discs, windows.chroma)
    v = measure_plane(ref.v, test.v, discs, windows.chroma)
    samples = (ref.y.size, ref.u.size, ref.v.size)
    return FrameSums(index=index, discs=tuple(discs), planes=(y, u, v), samples=samples)


@dataclass(frozen=True)
class RegionFrame:
    """One disc of one frame: its luma pixels, each plane's MSE and F_PSNR, and the rule's."""

    label: str
    center: tuple[float, float]
    radius: float
    samples: tuple[int, int, int]
    mse: tuple[float, float, float]
    fpsnr: tuple[float, float, float]
    fpsnr_yuv: float


@dataclass(frozen=True)
class FrameScore:
    """Every value of one frame (SPEC §7): planes, the combined rule, and the foveal metrics.

    ``y`` is the image engine's :class:`~fpsnr.results.Score` of the Y plane at each Fp
    (F_PSNR per disc, mean F_PSNR, periphery, M-FPSNR); the ``*_yuv`` values are the same
    under the combined rule, from the discs' Y, U and V sums.
    """

    index: int
    mse: tuple[float, float, float]
    psnr: tuple[float, float, float]
    psnr_yuv: float
    regions: tuple[RegionFrame, ...]
    y: tuple[Score, ...]
    mean_fpsnr_yuv: float
    periphery_psnr_yuv: float | None
    m_fpsnr_yuv: tuple[float, ...]


def score_frame(sums: FrameSums, fmt: VideoFormat, options: VideoOptions) -> FrameScore:
    """The values of one frame from its sums, under ``options``."""
    peak = peak_of(fmt.bit_depth, options.peak)
    cap = options.max_db
    y, u, v = sums.planes
    sse = (y.total_sse, u.total_sse, v.total_sse)
    mse = tuple(s / n for s, n in zip(sse, sums.samples, strict=True))
    psnr = tuple(psnr_from_mse(m, peak, max_db=cap) for m in mse)
    luma = Measurement(
        width=fmt.width,
        height=fmt.height,
        channels=1,
        channel="y",
        peak=peak,
        scored_channels=1,
        total_sse=y.total_sse,
        regions=y.regions,
        periphery_sse=y.periphery_sse,
        periphery_pixels=y.periphery_pixels,
    )
    scores = tuple(luma.score(fp, max_db=cap) for fp in options.fps)
    regions = []
    for ry, ru, rv in zip(y.regions, u.regions, v.regions, strict=True):
        r_sse = (ry.sse, ru.sse, rv.sse)
        r_n = (ry.pixels, ru.pixels, rv.pixels)
        r_mse = tuple(s / n for s, n in zip(r_sse, r_n, strict=True))
        regions.append(
            RegionFrame(
                label=ry.disc.label,
                center=(ry.disc.x, ry.disc.y),
                radius=ry.disc.radius,
                samples=r_n,
                mse=r_mse,  # type: ignore[arg-type]
                fpsnr=tuple(psnr_from_mse(m, peak, max_db=cap) for m in r_mse),  # type: ignore[arg-type]
                fpsnr_yuv=combine(options.rule, r_sse, r_n, peak, cap),
            )
        )
    mean_yuv = math.fsum(r.fpsnr_yuv for r in regions) / len(regions)
    outside = (y.periphery_pixels, u.periphery_pixels, v.periphery_pixels)
    periphery_yuv = None
    if all(outside):
        periphery_yuv = combine(
            options.rule, (y.periphery_sse, u.periphery_sse, v.periphery_sse), outside, peak, cap
        )
    elif any(fp > 0 for fp in options.fps):
        raise EmptyRegionError(
            f"frame {sums.index}: the regions cover every chroma sample, so the periphery is empty; "
            "use Fp = 0 or smaller regions"
        )
    return FrameScore(
        index=sums.index,
        mse=mse,  # type: ignore[arg-type]
        psnr=psnr,  # type: ignore[arg-type]
        psnr_yuv=combine(options.rule, sse, sums.samples, peak, cap),
        regions=tuple(regions),
        y=scores,
        mean_fpsnr_yuv=mean_yuv,
        periphery_psnr_yuv=periphery_yuv,
        m_fpsnr_yuv=tuple(m_fpsnr_of(mean_yuv, periphery_yuv, fp) for fp in options.fps),
    )
