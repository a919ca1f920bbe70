"""The metric engine: PSNR, foveal F_PSNR and M-FPSNR (paper equations 1, 2, 8–11).

Every value comes from the exact sums of squared errors of :mod:`fpsnr.sums` (integers
for uint8 and uint16 images, float64 for float images): the frame, each disc on its
bounding box, and the periphery.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy.typing as npt

from fpsnr.errors import EmptyRegionError, ParameterError
from fpsnr.images.pairs import Pair, prepare_pair
from fpsnr.options import DEFAULT_FP, AlphaMode, Channel, ScoreOptions, check_fp, check_max_db
from fpsnr.regions.model import (
    DEFAULT_FOVEAL_ANGLE,
    DEFAULT_VIEWING_DISTANCE,
    Disc,
    Region,
    RegionsLike,
    as_discs,
)
from fpsnr.results import RegionScore, Score
from fpsnr.sums import RegionSums, measure_plane, sse

__all__ = [
    "Measurement",
    "m_fpsnr_of",
    "measure",
    "mse",
    "psnr",
    "psnr_from_mse",
    "region_mse",
    "region_psnr",
    "score",
    "score_pair",
]

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


def m_fpsnr_of(mean: float, periphery: float | None, fp: float) -> float:
    """Equation (11), (1 − Fp)·mean F_PSNR + Fp·F_PSNR(Φ_0), zero weights left out so inf·0 never occurs.

    ``periphery`` is None when the discs cover the frame (then only Fp = 0 is asked of it).
    """
    if fp == 0 or periphery is None:
        return mean
    if fp == 1:
        return periphery
    return (1.0 - fp) * mean + fp * periphery


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
    regions: tuple[RegionSums, ...]
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
        m_fpsnr = m_fpsnr_of(mean, periphery, fp)
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
    plane = measure_plane(pair.ref, pair.test, discs)
    return Measurement(
        width=pair.width,
        height=pair.height,
        channels=pair.channels,
        channel=pair.channel,
        peak=pair.peak,
        scored_channels=pair.scored_channels,
        total_sse=plane.total_sse,
        regions=plane.regions,
        periphery_sse=plane.periphery_sse,
        periphery_pixels=plane.periphery_pixels,
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
    return sse(pair.ref, pair.test) / (pair.scored_channels * pair.width * pair.height)


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
    value = sse(pair.ref, pair.test) / (pair.scored_channels * pair.width * pair.height)
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
) -> tuple[RegionSums, int, float]:
    pair = prepare_pair(image_true, image_test, channel=channel, data_range=data_range, alpha=alpha)
    discs = as_discs(
        [region], pair.width, pair.height, viewing_distance=viewing_distance, foveal_angle=foveal_angle
    )
    result = _measure_pair(pair, discs)
    return result.regions[0], pair.scored_channels, pair.peak

