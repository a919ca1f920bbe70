"""The metric engine: PSNR, foveal F_PSNR and M-FPSNR (paper equations 1, 2, 8–11).

Sums are exact: uint8 and uint16 images are summed as integers, float images in
float64. Each region's work stays on the disc's bounding box; the periphery is the
frame total minus the union of the discs (for integer images, where that subtraction
is exact) or summed directly under a periphery mask (for float images, where
subtracting would lose the small periphery error in rounding).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.errors import EmptyRegionError, ParameterError
from fpsnr.images.pairs import Pair, prepare_pair
from fpsnr.options import DEFAULT_FP, AlphaMode, Channel, ScoreOptions, check_fp, check_max_db
from fpsnr.regions.discs import disc_window, empty_region
from fpsnr.regions.model import (
    DEFAULT_FOVEAL_ANGLE,
    DEFAULT_VIEWING_DISTANCE,
    Disc,
    Region,
    RegionsLike,
    as_discs,
)
from fpsnr.results import RegionScore, Score

__all__ = [
    "Measurement",
    "measure",
    "mse",
    "psnr",
    "psnr_from_mse",
    "region_mse",
    "region_psnr",
    "score",
    "score_pair",
]

# cv2.norm returns a float64 that can be off by a few ulps from the integer sum (its
# optimised paths square per-channel L2 norms). Below 2**49 an ulp is at most 1/8 and the
# error far under 0.5, so rounding gives the exact integer, for 8-bit and 16-bit images
# alike (tested against int64 sums up to the limit); above it the sum is redone in int64.
_CV2_EXACT_LIMIT = float(2**49)
_CV2_EXACT_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))
# Pairwise overlap tests cost n² memory; beyond this many discs every disc takes the
# union path, which is always correct, only a little slower.
_PAIRWISE_LIMIT = 512


def psnr_from_mse(mse: float, peak: float, *, max_db: float | None = None) -> float:
    """Equation (2): PSNR = 10 log10(MAX² / MSE) in dB; MSE = 0 gives ``inf``, ``max_db`` caps it.

    Where MAX² overflows (a huge MAX) it is 20·log10(MAX) − 10·log10(MSE), not a false +inf.
    """
    if not (peak > 0 and mse >= 0):  # (NaN fails both: refused, never turned into a number)
        raise ParameterError(f"PSNR needs MSE ≥ 0 and a peak > 0, got MSE {mse!r} and peak {peak!r}")
    ratio = math.inf if mse == 0 else peak * peak / mse
    value = 10.0 * math.log10(ratio)
    if mse and math.isinf(ratio):
        value = 20.0 * math.log10(peak) - 10.0 * math.log10(mse)
    return value if max_db is None else min(value, max_db)


def _sse(
    a: npt.NDArray[np.generic], b: npt.NDArray[np.generic], mask: npt.NDArray[np.uint8] | None = None
) -> int | float:
    """Σ_i M(i) Σ_c (a(i,c) − b(i,c))²: an exact int for integer images, float64 otherwise."""
    if a.dtype in _CV2_EXACT_DTYPES:
        value = cv2.norm(a, b, cv2.NORM_L2SQR, mask)  # type: ignore[arg-type]
        if value < _CV2_EXACT_LIMIT:
            return round(value)
    if a.dtype.kind == "u":
        d = a.astype(np.int64)
        d -= b  # type: ignore[arg-type]
        d *= d
        if d.ndim == 3:
            d = d.sum(axis=2)
        return int(d.sum() if mask is None else d[mask.view(bool)].sum())
    return float(cv2.norm(a, b, cv2.NORM_L2SQR, mask))  # type: ignore[arg-type]


def _may_overlap(discs: Sequence[Disc]) -> list[bool]:
    """Discs that might share a pixel with another disc (conservative)."""
    n = len(discs)
    if n < 2:
        return [False] * n
    if n > _PAIRWISE_LIMIT:
        return [True] * n
    if n <= 16:  # plain Python beats numpy's call overhead for a handful of discs
        flags = [False] * n
        for i in range(n):
            a = discs[i]
            for j in range(i + 1, n):
                b = discs[j]
                reach = a.radius + b.radius + 2.0
                if not ((a.x - b.x) ** 2 + (a.y - b.y) ** 2 > reach * reach):
                    flags[i] = flags[j] = True
        return flags
    x = np.array([d.x for d in discs])
    y = np.array([d.y for d in discs])
    r = np.array([d.radius for d in discs])
    with np.errstate(over="ignore", invalid="ignore"):
        dist2: Any = np.subtract.outer(x, x) ** 2 + np.subtract.outer(y, y) ** 2
        limit = np.add.outer(r, r) + 2.0  # a margin far beyond any rounding
        close = ~(dist2 > limit * limit)  # NaN/inf compare as "close": stay safe
    np.fill_diagonal(close, False)
    return close.any(axis=1).tolist()  # type: ignore[no-any-return]


class _RegionSums(NamedTuple):
    disc: Disc
    sse: int | float
    pixels: int


@dataclass(frozen=True)
class Measurement:
    """Sums of squared errors of one pair: frame, each region and the periphery.

    Everything that does not depend on Fp or ``max_db``; :meth:`score` combines them
    into a :class:`~fpsnr.results.Score` for any Fp without touching pixels again.
    """

    width: int
    height: int
    channels: int
    channel: str
    peak: float
    scored_channels: int
    total_sse: int | float
    regions: tuple[_RegionSums, ...]
    periphery_sse: int | float
    periphery_pixels: int

    def score(
        self,
        fp: float = DEFAULT_FP,
        *,
        max_db: float | None = None,
        ref: str | None = None,
        test: str | None = None,
    ) -> Score:
        """Equations (9)–(11) at foveal factor ``fp``.

        ``max_db`` clips every PSNR (frame, each region, periphery) before averaging.
        ``ref`` and ``test`` are names recorded in the result.
        """
        fp = check_fp(fp)
        check_max_db(max_db)
        c = self.scored_channels
        peak = self.peak
        frame = psnr_from_mse(self.total_sse / (c * self.width * self.height), peak, max_db=max_db)
        region_scores = []
        for item in self.regions:
            f_mse = item.sse / (c * item.pixels)  # equation (8): normalised inside Φ_j
            region_scores.append(
                RegionScore(
                    label=item.disc.label,
                    center=(item.disc.x, item.disc.y),
                    radius=item.disc.radius,
                    pixels=item.pixels,
                    mse=f_mse,
                    fpsnr=psnr_from_mse(f_mse, peak, max_db=max_db),
                )
            )
        mean = math.fsum(r.fpsnr for r in region_scores) / len(region_scores)  # (10)
        if self.periphery_pixels:
            periphery: float | None = psnr_from_mse(
                self.periphery_sse / (c * self.periphery_pixels), peak, max_db=max_db
            )
        else:
            periphery = None
            if fp > 0:
                raise EmptyRegionError(
                    f"the regions cover the whole {self.width}×{self.height} frame, so the "
                    f"periphery is empty; use Fp = 0 or smaller regions (Fp was {fp:g})"
                )
        # Equation (11); the weights that are zero are left out so inf·0 never occurs.
        if fp == 0 or periphery is None:
            m_fpsnr = mean
        elif fp == 1:
            m_fpsnr = periphery
        else:
            m_fpsnr = (1.0 - fp) * mean + fp * periphery
        return Score(
            ref=ref,
            test=test,
            width=self.width,
            height=self.height,
            channels=self.channels,
            channel=self.channel,
            peak=peak,
            fp=fp,
            psnr=frame,
            mean_fpsnr=mean,
            periphery_psnr=periphery,
            m_fpsnr=m_fpsnr,
            regions=tuple(region_scores),
        )

    def sweep(
        self,
        fps: Iterable[float],
        *,
        max_db: float | None = None,
        ref: str | None = None,
        test: str | None = None,
    ) -> list[Score]:
        """:meth:`score` at each Fp of ``fps``, in order (the Table 2 sweep)."""
        return [self.score(fp, max_db=max_db, ref=ref, test=test) for fp in fps]


def _measure_pair(pair: Pair, discs: Sequence[Disc]) -> Measurement:
    a, b = pair.ref, pair.test
    height, width = pair.height, pair.width
    integer = a.dtype.kind == "u"
    total = _sse(a, b)
    overlap = _may_overlap(discs)
    covered = np.zeros((height, width), dtype=np.uint8) if any(overlap) or not integer else None
    union_sse: int | float = 0
    union_pixels = 0
    sums = []
    for disc, shared in zip(discs, overlap, strict=True):
        rows, cols, mask, pixels = disc_window(disc, height, width)
        if pixels == 0:
            raise empty_region(disc, height, width)
        sse = _sse(a[rows, cols], b[rows, cols], mask)
        sums.append(_RegionSums(disc=disc, sse=sse, pixels=pixels))
        if covered is None:
            union_sse += sse
            union_pixels += pixels
            continue
        seen = covered[rows, cols]
        if integer:
            if shared:
                fresh = np.greater(mask, seen).view(np.uint8)
                union_sse += _sse(a[rows, cols], b[rows, cols], fresh)
                union_pixels += cv2.countNonZero(fresh)
            else:
                union_sse += sse
                union_pixels += pixels
        np.bitwise_or(seen, mask, out=seen)
    if integer:
        periphery_sse: int | float = total - union_sse
        periphery_pixels = height * width - union_pixels
    else:
        assert covered is not None  # float images always build the union mask
        outside = np.equal(covered, 0).view(np.uint8)
        periphery_pixels = cv2.countNonZero(outside)
        periphery_sse = _sse(a, b, outside) if periphery_pixels else 0.0
    return Measurement(
        width=width,
        height=height,
        channels=pair.channels,
        channel=pair.channel,
        peak=pair.peak,
        scored_channels=pair.scored_channels,
        total_sse=total,
        regions=tuple(sums),
        periphery_sse=periphery_sse,
        periphery_pixels=periphery_pixels,
    )


def measure(
    image_true: npt.ArrayLike,
    image_test: npt.ArrayLike,
    regions: RegionsLike,
    *,
    channel: Channel = "rgb",
    data_range: float | None = None,
    alpha: AlphaMode = "error",
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE,
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE,
) -> Measurement:
    """Sum the squared errors of a pair over the frame, each region and the periphery.

    Same parameters as :func:`score`, without ``fp`` and ``max_db``; call
    :meth:`Measurement.score` for each Fp. Use this to sweep Fp without re-reading
    pixels.
    """
    pair = prepare_pair(image_true, image_test, channel=channel, data_range=data_range, alpha=alpha)
    discs = as_discs(
        regions, pair.width, pair.height, viewing_distance=viewing_distance, foveal_angle=foveal_angle
    )
    return _measure_pair(pair, discs)


def score_pair(
    image_true: npt.ArrayLike,
    image_test: npt.ArrayLike,
    regions: RegionsLike,
    options: ScoreOptions | None = None,
    *,
    ref: str | None = None,
    test: str | None = None,
) -> list[Score]:
    """Measure a pair once and score it at every Fp of ``options`` (default: Fp = 0.5).

    Every scoring path (``fpsnr score``, ``batch``, RD rows, ``codec roundtrip``) goes
    through here, so each honours every field of :class:`~fpsnr.options.ScoreOptions`.
    ``ref`` and ``test`` are names recorded in the scores.
    """
    opts = options or ScoreOptions()
    measured = measure(
        image_true,
        image_test,
        regions,
        channel=opts.channel,
        data_range=opts.data_range,
        alpha=opts.alpha,
        viewing_distance=opts.viewing_distance,
        foveal_angle=opts.foveal_angle,
    )
    return measured.sweep(opts.fps, max_db=opts.max_db, ref=ref, test=test)


def score(
    image_true: npt.ArrayLike,
    image_test: npt.ArrayLike,
    regions: RegionsLike,
    *,
    fp: float = DEFAULT_FP,
    channel: Channel = "rgb",
    data_range: float | None = None,
    max_db: float | None = None,
    alpha: AlphaMode = "error",
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE,
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE,
) -> Score:
    """M-FPSNR of a test image against a reference, with every intermediate value.

    Parameters
    ----------
    image_true, image_test : numpy.ndarray
        Reference and test image, same shape and dtype: ``(H, W)`` gray, ``(H, W, 3)``
        RGB, or with alpha when ``alpha="drop"``. uint8, uint16 or float.
    regions : Regions or sequence of Region
        Foveal regions Φ_1..Φ_Nf. A :class:`~fpsnr.regions.model.Regions` (from a file)
        scales to the image size; plain :class:`~fpsnr.regions.model.Region` objects are in
        the image's own pixels. Regions without a radius get the default radius.
    fp : float
        Foveal factor Fp ∈ [0, 1] weighting the periphery in equation (11).
    channel : {"rgb", "y"}
        ``"rgb"`` pools all channels (CompressAI's psnr-rgb); ``"y"`` scores BT.601
        full-range luma in float64, unrounded, peak 255 — not the studio-range Y
        (16–235) of ffmpeg's psnr or skimage's ``rgb2ycbcr``, which reads exactly
        20·log10(255/219) ≈ 1.32 dB higher (README, "Comparing with other tools").
    data_range : float, optional
        Peak value MAX; required for float images, overrides the dtype's peak for
        integer images.
    max_db : float, optional
        Cap applied to every PSNR before averaging (identical regions give ``inf``
        otherwise).
    alpha : {"error", "drop"}
        What to do with an alpha channel.
    viewing_distance, foveal_angle : float
        v (picture heights) and θ (degrees) of the default radius R = v·S·tan(θ/2).

    Returns
    -------
    Score
        Frame PSNR, each region's F_PSNR, mean F_PSNR, periphery PSNR and M-FPSNR.

    Notes
    -----
    With M_Φ the 0/1 mask of region Φ and C the channels (SPEC §1):

    - (8)  F_MSE(Φ_j) = Σ_i M_Φj(i) Σ_c (I_ref(i,c) − I_test(i,c))² / (C · Σ_i M_Φj(i))
    - (9)  F_PSNR(Φ_j) = 10 log10(MAX² / F_MSE(Φ_j)); Φ_0, the periphery, likewise
    - (10) mean F_PSNR = (1/Nf) Σ_j F_PSNR(Φ_j), the arithmetic mean in dB
    - (11) M-FPSNR = (1 − Fp) · mean F_PSNR + Fp · F_PSNR(Φ_0)

    Overlapping discs are each scored on their own; the periphery is every pixel
    outside all discs.

    References
    ----------
    The foveal-PSNR paper in ``shared/paper``; equations restored in SPEC §1.

    Examples
    --------
    >>> import numpy as np, fpsnr
    >>> ref = np.full((64, 64), 100, np.uint8)
    >>> test = ref.copy(); test[0, 0] = 110
    >>> s = fpsnr.score(ref, test, [fpsnr.Region((32, 32), radius=8)], fp=0.5)
    >>> s.mean_fpsnr
    inf
    """
    options = ScoreOptions(
        fps=(fp,),
        channel=channel,
        data_range=data_range,
        max_db=max_db,
        alpha=alpha,
        viewing_distance=viewing_distance,
        foveal_angle=foveal_angle,
    )
    return score_pair(image_true, image_test, regions, options)[0]


def mse(
    image_true: npt.ArrayLike,
    image_test: npt.ArrayLike,
    *,
    channel: Channel = "rgb",
    data_range: float | None = None,
    alpha: AlphaMode = "error",
) -> float:
    """Equation (1): MSE = (1 / (N·C)) Σ_i Σ_c (I_ref(i,c) − I_test(i,c))².

    ``data_range`` is only checked (float images must lie in [0, data_range]).
    """
    pair = prepare_pair(image_true, image_test, channel=channel, data_range=data_range, alpha=alpha)
    return _sse(pair.ref, pair.test) / (pair.scored_channels * pair.width * pair.height)


def psnr(
    image_true: npt.ArrayLike,
    image_test: npt.ArrayLike,
    *,
    channel: Channel = "rgb",
    data_range: float | None = None,
    max_db: float | None = None,
    alpha: AlphaMode = "error",
) -> float:
    """Equation (2): full-frame PSNR in dB, MAX from the dtype (or ``data_range``).

    Identical images give ``inf`` without a warning, unless ``max_db`` caps it.
    """
    pair = prepare_pair(image_true, image_test, channel=channel, data_range=data_range, alpha=alpha)
    value = _sse(pair.ref, pair.test) / (pair.scored_channels * pair.width * pair.height)
    return psnr_from_mse(value, pair.peak, max_db=max_db)


def region_mse(
    image_true: npt.ArrayLike,
    image_test: npt.ArrayLike,
    region: Region,
    *,
    channel: Channel = "rgb",
    data_range: float | None = None,
    alpha: AlphaMode = "error",
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE,
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE,
) -> float:
    """Equation (8): F_MSE of one region, normalised by the pixels inside it."""
    item, c, _ = _single_region(
        image_true, image_test, region, channel, data_range, alpha, viewing_distance, foveal_angle
    )
    return item.sse / (c * item.pixels)


def region_psnr(
    image_true: npt.ArrayLike,
    image_test: npt.ArrayLike,
    region: Region,
    *,
    channel: Channel = "rgb",
    data_range: float | None = None,
    max_db: float | None = None,
    alpha: AlphaMode = "error",
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE,
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE,
) -> float:
    """Equation (9): F_PSNR of one region in dB (single-focus F_PSNR is Nf = 1)."""
    item, c, peak = _single_region(
        image_true, image_test, region, channel, data_range, alpha, viewing_distance, foveal_angle
    )
    return psnr_from_mse(item.sse / (c * item.pixels), peak, max_db=max_db)


def _single_region(
    image_true: npt.ArrayLike,
    image_test: npt.ArrayLike,
    region: Region,
    channel: Channel,
    data_range: float | None,
    alpha: AlphaMode,
    viewing_distance: float,
    foveal_angle: float,
) -> tuple[_RegionSums, int, float]:
    pair = prepare_pair(image_true, image_test, channel=channel, data_range=data_range, alpha=alpha)
    discs = as_discs(
        [region], pair.width, pair.height, viewing_distance=viewing_distance, foveal_angle=foveal_angle
    )
    result = _measure_pair(pair, discs)
    return result.regions[0], pair.scored_channels, pair.peak

