"""Scoring options: every setting of the metric in one frozen record, checked once.

:class:`ScoreOptions` travels from the command line (or a Python caller) to every place
that scores a pair — ``score``, ``batch``, RD rows, ``codec roundtrip`` — so no path can
silently drop a setting, and each value is validated where the record is built.
:class:`BatchOptions` adds what a folder run needs (the missing-regions policy).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from fpsnr.errors import ParameterError
from fpsnr.regions.model import DEFAULT_FOVEAL_ANGLE, DEFAULT_VIEWING_DISTANCE, check_radius_settings

__all__ = [
    "DEFAULT_FP",
    "MISSING_REGIONS",
    "SWEEP_FPS",
    "AlphaMode",
    "BatchOptions",
    "Channel",
    "MissingRegions",
    "ScoreOptions",
    "check_fp",
    "check_max_db",
]

DEFAULT_FP = 0.5
"""The foveal factor Fp of equation (11) when none is given (the paper's headline value)."""
SWEEP_FPS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
"""The Fp sweep of the paper's Table 2 (and of the RD CSV's M-FPSNR columns)."""

AlphaMode = Literal["error", "drop"]
Channel = Literal["rgb", "y"]
MissingRegions = Literal["error", "center", "suggest"]
CHANNELS: tuple[Channel, ...] = ("rgb", "y")
ALPHA_MODES: tuple[AlphaMode, ...] = ("error", "drop")
MISSING_REGIONS: tuple[MissingRegions, ...] = ("error", "center", "suggest")


def check_fp(fp: Any) -> float:
    """Fp as a float in [0, 1], or a :class:`ParameterError`."""
    if isinstance(fp, bool):  # True would read as Fp = 1
        raise ParameterError(f"Fp must be a number in [0, 1], got {fp!r}")
    try:
        value = float(fp)
    except (TypeError, ValueError) as err:
        raise ParameterError(f"Fp must be a number in [0, 1], got {fp!r}") from err
    if not 0.0 <= value <= 1.0:
        raise ParameterError(f"Fp must be in [0, 1], got {fp!r}")
    return value + 0.0  # -0 is 0 (the fp column wrote "-0.0")


def check_number(name: str, value: Any, *, optional: bool = False) -> None:
    """Refuse a value that is not a real number (a string, None, a bool) naming ``name``.

    The range checks after this compare and compute; without it ``'50'`` or ``None``
    surfaced as a TypeError from deep inside (reliability G24).
    """
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a number, got {value!r}")


def check_max_db(max_db: float | None) -> float | None:
    """A PSNR cap: ``None`` or a positive finite number of dB."""
    if max_db is not None and not (max_db > 0 and math.isfinite(max_db)):
        raise ParameterError(f"max_db must be a positive finite number of dB, got {max_db}")
    return max_db


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices[:-1]) + f" or {choices[-1]!r}"
        raise ParameterError(f"{name} must be {listed}, got {value!r}")


EXIF_MODES = ("keep", "apply")


@dataclass(frozen=True)
class ScoreOptions:
    """How a pair is scored (see :func:`fpsnr.score` for the meaning of each field).

    Parameters
    ----------
    fps : tuple of float
        Foveal factors Fp ∈ [0, 1] to report, in order (at least one).
    channel : {"rgb", "y"}
        ``"rgb"`` pools all channels; ``"y"`` scores unrounded full-range BT.601 luma.
    data_range : float, optional
        Peak value MAX; required for float images, overrides 255/65535 for integers.
    max_db : float, optional
        Cap applied to every PSNR before averaging.
    alpha : {"error", "drop"}
        What to do with an alpha channel.
    viewing_distance, foveal_angle : float
        v (picture heights) and θ (degrees) of the default radius R = v·S·tan(θ/2).
    exif : {"keep", "apply"}
        Files are read as stored (``keep``), or turned upright by their EXIF
        orientation tag (``apply``), both images of a pair alike.
    """

    fps: tuple[float, ...] = (DEFAULT_FP,)
    channel: Channel = "rgb"
    data_range: float | None = None
    max_db: float | None = None
    alpha: AlphaMode = "error"
    viewing_distance: float = DEFAULT_VIEWING_DISTANCE
    foveal_angle: float = DEFAULT_FOVEAL_ANGLE
    exif: str = "keep"

    def __post_init__(self) -> None:
        check_choice("exif", self.exif, EXIF_MODES)
        if isinstance(self.fps, (str, bytes)) or not isinstance(self.fps, Iterable):
            raise ParameterError(f"fps must be a sequence of Fp values such as (0.5,), got {self.fps!r}")
        check_number("data_range", self.data_range, optional=True)
        check_number("max_db", self.max_db, optional=True)
        check_number("viewing_distance", self.viewing_distance)
        check_number("foveal_angle", self.foveal_angle)
        if not self.fps:
            raise ParameterError("give at least one Fp")
        object.__setattr__(self, "fps", tuple(check_fp(fp) for fp in self.fps))
        repeated = sorted({fp for fp in self.fps if self.fps.count(fp) > 1})
        if repeated:  # rows are keyed by Fp: a repeated one would be one row, or lost on resume
            raise ParameterError(f"Fp {repeated[0]:g} is given twice; give each Fp once")
        check_choice("channel", self.channel, CHANNELS)
        check_choice("alpha", self.alpha, ALPHA_MODES)
        check_max_db(self.max_db)
        if self.data_range is not None and not (math.isfinite(self.data_range) and self.data_range > 0):
            raise ParameterError(f"data range must be a positive finite number, got {self.data_range}")
        check_radius_settings(self.viewing_distance, self.foveal_angle)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (the settings a resumable output records)."""
        out = asdict(self)
        out["fps"] = list(self.fps)
        if out["exif"] == "keep":  # absent when default: outputs of earlier versions resume as before
            del out["exif"]
        return out


@dataclass(frozen=True)
class BatchOptions(ScoreOptions):
    """:class:`ScoreOptions` plus what to do with an image that has no regions.

    ``missing_regions``: ``"error"`` (default) makes its rows errors; ``"center"``
    scores one default-radius region at the image centre, the single-focus F_PSNR of
    the prior art; ``"suggest"`` scores the regions
    :func:`fpsnr.regions.proposals.suggest_regions` proposes for the reference.
    """

    missing_regions: MissingRegions = "error"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("missing_regions", self.missing_regions, MISSING_REGIONS)
