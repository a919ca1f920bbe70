"""Region proposals measured against where people look: a fixation density, then discs.

:func:`suggest_regions` proposes the discs for an image nobody has annotated. The
default method, ``"signature"``, estimates where free-viewing observers fixate:

1. **Image signature** (Hou, Harel & Koch, "Image signature: highlighting sparse salient
   regions", TPAMI 2012) on a copy whose long side is 64 pixels: for each CIE Lab
   channel c (sRGB, D65), x̄_c = IDCT(sign(DCT(c))); the map is Σ_c x̄_c², smoothed by a Gaussian of
   σ = 3 % of the copy's width. Sign and square make it independent of each channel's
   scale.
2. **Times a centre prior learned from human fixations**: a 32 × 32 table over the
   picture's normalised coordinates, the mean fixation density of the 250 scenes of
   the NUS eye-tracking set in ``../shared/data/fixations`` (each scene weighted
   equally, each observer's first fixation — the central cross — left out, smoothed by
   1.5 cells), shipped as ``fpsnr/data/fixation_prior.json`` and rebuilt by
   ``scripts/fit_fixation_prior.py``. People look at the middle of a picture far more
   than saliency alone says (Tatler 2007; Judd et al. 2009).
3. **Discs chosen to hold the most of that density**: the disc of the default radius
   whose window holds the most mass is taken, its mass removed, and so on (greedy
   maximum coverage) until ``max_regions`` or a disc would add less than
   ``min_strength`` of the total. Each region's ``strength`` is the share of the
   density it adds: the expected share of fixations it holds if the map were exact.

``"spectral-residual"`` is the method before December 2026 (Hou & Zhang 2007, peaks
picked with a suppression of twice the radius; :mod:`fpsnr.regions.saliency`), kept so
old results can be reproduced; its regions get strengths from its own map the same way.

Measured on the fixation set (``scripts/fixation_agreement.py``, every disc at the
default radius): the first 3 discs hold 50.7 % of the fixations with the prior fitted on
the other half of the scenes (two-fold), against 30.8 % for spectral residual, 22.2 % for
the image centre and 69.7 % for a greedy oracle placed on the fixations themselves;
``data/regions/README.md`` has the whole table, Kodak included.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fpsnr.errors import ImageError, ParameterError
from fpsnr.images.pairs import drop_alpha
from fpsnr.regions.model import (
    DEFAULT_FOVEAL_ANGLE,
    DEFAULT_VIEWING_DISTANCE,
    Region,
    Regions,
    default_radius,
)
from fpsnr.regions.saliency import regions_from_saliency, spectral_residual_saliency

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "fit_fixation_prior",
    "fixation_density",
    "fixation_prior",
    "regions_from_density",
    "suggest_regions",
]

METHODS = ("signature", "spectral-residual")
DEFAULT_METHOD = "signature"
DEFAULT_MIN_STRENGTH = 0.05
"""Stop when a disc would add less than 5 % of the density (about one fixation in twenty)."""

WORK_SIDE = 64  # the long side the maps are computed at (fixation discs are ≥ 1/8 of the short side)
_SIGNATURE_BLUR = 0.03  # σ of the signature's smoothing, a share of the copy's width
PRIOR_SIDE = 32
PRIOR_BLUR = 1.5  # cells


def _unit_float(image: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """The image as float32 in [0, 1] (integers by their dtype's range, floats by their own)."""
    img = drop_alpha(np.asarray(image))
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3) or img.size == 0:
        raise ImageError(f"cannot propose regions for an image of shape {np.shape(image)}")
    if np.issubdtype(img.dtype, np.integer) and img.dtype != np.bool_:
        info = np.iinfo(img.dtype)  # type: ignore[type-var]  # an integer dtype, checked above
        return ((img.astype(np.float32) - info.min) / float(info.max - info.min)).astype(np.float32)
    out = img.astype(np.float32)
    if not np.isfinite(out).all():
        raise ImageError("image holds NaN or inf values")
    low, high = float(out.min()), float(out.max())
    return (out - low) / (high - low) if high > low else np.zeros_like(out)


def work_size(width: int, height: int) -> tuple[int, int]:
    """The (width, height) of the copy the maps are computed on: long side 64, never enlarged."""
    scale = min(1.0, WORK_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


_SRGB_TO_XYZ = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169],
                         [0.019334, 0.119193, 0.950227]])  # fmt: skip
_WHITE_D65 = np.array([0.950456, 1.0, 1.088754])


def _lab(rgb: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """CIE L*a*b* (D65) of sRGB values in [0, 1], in numpy.

    OpenCV's first Lab conversion in a process builds tables for about 0.1 s, twenty times
    the whole proposal.
    """
    c = rgb.astype(np.float64)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _SRGB_TO_XYZ.T / _WHITE_D65
    delta = 6.0 / 29.0
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4.0 / 29.0)
    return np.stack(
        [116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], axis=-1
    )


def signature_saliency(image: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Image-signature saliency at the work size (long side 64 px), scaled to [0, 1].

    A grey image uses its one channel; a colour image (RGB) its three CIE Lab channels.
    A flat image gives all zeros.
    """
    unit = _unit_float(np.asarray(image))
    height, width = unit.shape[:2]
    small_w, small_h = work_size(width, height)
    small = cv2.resize(unit, (small_w, small_h), interpolation=cv2.INTER_AREA)
    channels = [small] if small.ndim == 2 else list(np.moveaxis(_lab(small), 2, 0))
    # cv2.dct takes even sizes only: pad by one row/column where needed (edge values)
    pad_h, pad_w = small_h % 2, small_w % 2
    total = np.zeros((small_h, small_w), dtype=np.float64)
    for channel in channels:
        plane = cv2.copyMakeBorder(
            np.ascontiguousarray(channel, dtype=np.float64), 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE
        )
        coef = cv2.dct(plane)
        coef[np.abs(coef) <= 1e-6 * float(np.abs(coef).max())] = 0.0  # float32 rounding noise has no sign
        back = cv2.idct(np.sign(coef))[:small_h, :small_w]
        total += back * back
    if float(np.ptp(total)) <= 1e-9 * float(total.max()):  # a flat picture: nothing stands out
        return np.zeros_like(total)
    smooth = np.asarray(
        cv2.GaussianBlur(total, (0, 0), _SIGNATURE_BLUR * small_w, borderType=cv2.BORDER_REFLECT), np.float64
    )
    return smooth / float(smooth.max())


@functools.cache
def _shipped_prior() -> npt.NDArray[np.float64]:
    from importlib import resources  # (with tempfile 3–5 ms in -X importtime: not every command's start)

    text = resources.files("fpsnr").joinpath("data/fixation_prior.json").read_text(encoding="utf-8")
    table = np.asarray(json.loads(text)["values"], dtype=np.float64)
    table.setflags(write=False)
    return table


def fixation_prior(
    width: int, height: int, *, table: npt.NDArray[np.float64] | None = None
) -> npt.NDArray[np.float64]:
    """The centre prior at the work size of a ``width`` × ``height`` image (peak 1).

    ``table`` is a prior over normalised coordinates (:func:`fit_fixation_prior`); the
    shipped one by default.
    """
    grid = _shipped_prior() if table is None else np.asarray(table, dtype=np.float64)
    small_w, small_h = work_size(width, height)
    out = cv2.resize(grid, (small_w, small_h), interpolation=cv2.INTER_LINEAR)
    result: npt.NDArray[np.float64] = out / float(out.max())
    return result


def fit_fixation_prior(
    scenes: Iterable[tuple[int, int, npt.ArrayLike]], *, side: int = PRIOR_SIDE, blur: float = PRIOR_BLUR
) -> npt.NDArray[np.float64]:
    """A centre prior from eye-tracking data: the mean fixation density over scenes.

    ``scenes`` yields ``(width, height, points)``, the points an ``(n, 2)`` array of
    fixations (x, y) in that image's pixels. Each scene counts once whatever its number
    of fixations; the ``side`` × ``side`` histogram over normalised coordinates is
    smoothed by a Gaussian of ``blur`` cells and scaled to a peak of 1.
    """
    acc = np.zeros((side, side), dtype=np.float64)
    count = 0
    for width, height, points in scenes:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if not len(pts):
            continue
        cols = np.clip((pts[:, 0] + 0.5) / width * side, 0, side - 1e-9).astype(int)
        rows = np.clip((pts[:, 1] + 0.5) / height * side, 0, side - 1e-9).astype(int)
        np.add.at(acc, (rows, cols), 1.0 / len(pts))
        count += 1
    if count == 0:
        raise ParameterError("no fixations to fit a prior on")
    smooth = np.asarray(cv2.GaussianBlur(acc, (0, 0), blur), np.float64)
    return smooth / float(smooth.max())


def fixation_density(
    image: npt.ArrayLike, *, prior: npt.NDArray[np.float64] | None = None
) -> npt.NDArray[np.float64]:
    """The ``"signature"`` method's map at the work size: signature saliency × the centre prior.

    A flat image gives the prior alone (its discs then sit where people look first).
    """
    arr = np.asarray(image)
    sal = signature_saliency(arr)
    centre = fixation_prior(arr.shape[1], arr.shape[0], table=prior)
    return sal * centre if sal.any() else centre


def regions_from_density(
    density: npt.NDArray[np.float64],
    width: int,
    height: int,
    *,
    max_regions: int = 5,
    min_strength: float = DEFAULT_MIN_STRENGTH,
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE,
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE,
    image_name: str | None = None,
    label: str = "salient",
) -> Regions:
    """Discs of the default radius that hold the most of ``density`` (a map at the work size).

    Greedy: the disc whose window holds the most mass, then that mass removed, until
    ``max_regions`` or a disc would add less than ``min_strength`` of the total (at
    least one region always). Centres are work-grid cell centres mapped to the image, to the nearest pixel.
    """
    _check_counts(max_regions, min_strength)
    mass = np.array(density, dtype=np.float64)  # a copy: mass is removed as discs are taken
    small_h, small_w = mass.shape
    sx, sy = small_w / width, small_h / height
    radius = default_radius(width, height, viewing_distance=viewing_distance, foveal_angle=foveal_angle)
    r_work = radius * (sx + sy) / 2
    reach = int(np.ceil(r_work))
    dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    kernel = (dx * dx + dy * dy <= r_work * r_work).astype(np.float64)
    rows = np.arange(small_h, dtype=np.float64)[:, None]
    cols = np.arange(small_w, dtype=np.float64)[None, :]
    total = float(mass.sum())
    regions: list[Region] = []
    while len(regions) < max_regions:
        held = cv2.filter2D(mass, -1, kernel, borderType=cv2.BORDER_CONSTANT)
        # ties (a disc holds the same mass a cell further; equal up to the filter's rounding) go
        # to the disc centred on more mass, then to the first in row-major order: deterministic
        top = float(held.max())
        tied = held >= top - 1e-12 * abs(top)
        best = int(np.argmax(np.where(tied, mass, -np.inf)))
        row, col = divmod(best, small_w)
        strength = float(held[row, col]) / total if total > 0 else 0.0
        if regions and strength < min_strength:
            break
        centre = (float(math.floor((col + 0.5) / sx)), float(math.floor((row + 0.5) / sy)))  # nearest pixel
        regions.append(
            Region(centre, label=f"{label}-{len(regions) + 1}", strength=round(min(strength, 1.0), 4))
        )
        mass[(cols - col) ** 2 + (rows - row) ** 2 <= r_work * r_work] = 0.0
    return Regions(tuple(regions), width=width, height=height, image=image_name)


def _check_counts(max_regions: int, min_strength: float) -> None:
    if isinstance(max_regions, bool) or not isinstance(max_regions, int) or max_regions < 1:
        raise ParameterError(f"max_regions must be a positive integer, got {max_regions!r}")
    if not (isinstance(min_strength, (int, float)) and 0.0 <= min_strength <= 1.0):
        raise ParameterError(f"min_strength must be in [0, 1], got {min_strength!r}")


def strengths(
    density: npt.NDArray[np.float64], regions: Sequence[Region], width: int, height: int, radius: float
) -> list[float]:
    """Each region's added share of ``density`` (a work-size map), in order."""
    mass = np.array(density, dtype=np.float64)
    small_h, small_w = mass.shape
    sx, sy = small_w / width, small_h / height
    r_work = radius * (sx + sy) / 2
    rows = (np.arange(small_h, dtype=np.float64)[:, None] + 0.5) / sy - 0.5
    cols = (np.arange(small_w, dtype=np.float64)[None, :] + 0.5) / sx - 0.5
    total = float(mass.sum())
    out = []
    for region in regions:
        x, y = region.center
        inside = ((cols - x) * sx) ** 2 + ((rows - y) * sy) ** 2 <= r_work * r_work
        out.append(round(float(mass[inside].sum()) / total, 4) if total > 0 else 0.0)
        mass[inside] = 0.0
    return out


def suggest_regions(
    image: npt.ArrayLike,
    *,
    method: str = DEFAULT_METHOD,
    max_regions: int = 5,
    min_strength: float = DEFAULT_MIN_STRENGTH,
    min_saliency: float = 0.3,
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE,
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE,
    image_name: str | None = None,
) -> Regions:
    """Propose foveal regions for an image without annotations.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W)`` or ``(H, W, 3)`` RGB image of any dtype.
    method : {"signature", "spectral-residual"}
        ``"signature"`` (default): signature saliency × a centre prior learned from human
        fixations, discs holding the most of it; ``"spectral-residual"``: the method
        before December 2026, for reproducing old results (see the module notes).
    max_regions : int
        At most this many regions.
    min_strength : float
        ``"signature"``: stop when a disc would add less than this share of the density.
    min_saliency : float
        ``"spectral-residual"``: stop when the best remaining peak is below this share
        of the strongest.

    Returns
    -------
    Regions
        Default-radius regions labelled ``salient-1``, ``salient-2``… in order, each
        with its ``strength`` (the share of the method's map it adds). Deterministic.
    """
    if method not in METHODS:
        raise ParameterError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    arr = np.asarray(image)
    if arr.ndim < 2 or arr.size == 0:
        raise ImageError(f"cannot propose regions for an image of shape {arr.shape}")
    height, width = arr.shape[:2]
    angles = {"viewing_distance": viewing_distance, "foveal_angle": foveal_angle}
    if method == "signature":
        return regions_from_density(
            fixation_density(arr), width, height, max_regions=max_regions, min_strength=min_strength,
            viewing_distance=viewing_distance, foveal_angle=foveal_angle, image_name=image_name,
        )  # fmt: skip
    sal = spectral_residual_saliency(arr)
    found = regions_from_saliency(
        sal, max_regions=max_regions, min_saliency=min_saliency, image_name=image_name, **angles
    )
    small = np.asarray(cv2.resize(sal, work_size(width, height), interpolation=cv2.INTER_AREA), np.float64)
    shares = strengths(small, found.regions, width, height, default_radius(width, height, **angles))
    marked = (
        Region(r.center, r.radius, r.label, strength=s) for r, s in zip(found.regions, shares, strict=True)
    )
    return Regions(tuple(marked), width=width, height=height, image=image_name)
