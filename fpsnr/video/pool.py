"""A sequence's values under both pooling rules, accumulated frame by frame (SPEC §7).

``mean_db`` is the arithmetic mean of the per-frame dB values (HM's ``Average``,
libvmaf's pooled mean); ``pooled`` is the PSNR of the total squared error over the
total sample count (ffmpeg's summary, libvmaf's ``apsnr``, HM's "From MSE"). For the
foveal values, pooled means: each region label's samples inside its discs over every
frame it appears in; ``mean_fpsnr`` over the samples of every disc of every frame (a
disc counted on its own, as in a frame); the periphery over every frame's periphery.
A ``max_db`` cap applies per frame before averaging, and to each pooled value. Only
running sums are kept: memory does not grow with the number of frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fpsnr.metrics import m_fpsnr_of, psnr_from_mse
from fpsnr.video.measure import FrameScore, FrameSums, VideoOptions, combine, peak_of
from fpsnr.video.source import VideoFormat

__all__ = ["POOLINGS", "RegionSummary", "SequencePool", "VideoSummary", "fp_key", "value_names"]

POOLINGS = ("mean_db", "pooled")


def fp_key(name: str, fp: float) -> str:
    """Column of an M-FPSNR value at one Fp: ``m_fpsnr_y_fp0.5``."""
    return f"{name}_fp{float(fp):g}"


def value_names(fps: tuple[float, ...]) -> list[str]:
    """The names of a sequence's values, in order (summary keys, batch columns)."""
    names = ["psnr_y", "psnr_u", "psnr_v", "psnr_yuv", "mean_fpsnr_y", "periphery_psnr_y"]
    names += [fp_key("m_fpsnr_y", fp) for fp in fps]
    names += ["mean_fpsnr_yuv", "periphery_psnr_yuv"]
    return names + [fp_key("m_fpsnr_yuv", fp) for fp in fps]


class _Sums:
    """Σ squared error and Σ samples of one set (frame, label, discs, periphery), per plane."""

    __slots__ = ("samples", "sse")

    def __init__(self) -> None:
        self.sse: list[int | float] = [0, 0, 0]
        self.samples = [0, 0, 0]

    def add(self, sse: tuple[int | float, ...], samples: tuple[int, ...]) -> None:
        for p in range(3):
            self.sse[p] += sse[p]
            self.samples[p] += samples[p]


class _Mean:
    __slots__ = ("count", "total")

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def add(self, value: float) -> None:
        self.total += value
        self.count += 1

    def value(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass(frozen=True)
class RegionSummary:
    """One region label over the frames it appears in, under both poolings."""

    frames: int
    mean_db: dict[str, float]
    pooled: dict[str, float]


@dataclass(frozen=True)
class VideoSummary:
    """A sequence's values: ``mean_db`` and ``pooled`` map each value's name to dB."""

    frames: int
    format: VideoFormat
    options: VideoOptions
    peak: float
    mean_db: dict[str, float | None]
    pooled: dict[str, float | None]
    regions: dict[str, RegionSummary] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from fpsnr.formatting import json_value

        return {
            "frames": self.frames,
            "width": self.format.width,
            "height": self.format.height,
            "pix_fmt": self.format.pix_fmt,
            "rule": self.options.rule,
            "peak": self.peak,
            "peak_convention": self.options.peak,
            "max_db": self.options.max_db,
            **{name: {k: json_value(v) for k, v in getattr(self, name).items()} for name in POOLINGS},
            "regions": {
                label: {
                    "frames": r.frames,
                    **{name: {k: json_value(v) for k, v in getattr(r, name).items()} for name in POOLINGS},
                }
                for label, r in self.regions.items()
            },
        }


class SequencePool:
    """Running sums of a sequence; :meth:`summary` gives both poolings at any point."""

    def __init__(self, fmt: VideoFormat, options: VideoOptions) -> None:
        self.format = fmt
        self.options = options
        self.peak = peak_of(fmt.bit_depth, options.peak)
        self.frames = 0
        self._frame = _Sums()
        self._discs = _Sums()
        self._periphery = _Sums()
        self._labels: dict[str, tuple[_Sums, dict[str, _Mean]]] = {}
        self._means: dict[str, _Mean] = {}

    def _mean(self, key: str, value: float | None) -> None:
        if value is not None:
            self._means.setdefault(key, _Mean()).add(value)

    def add(self, sums: FrameSums, score: FrameScore) -> None:
        """Add one frame's sums and values."""
        self.frames += 1
        planes = sums.planes
        self._frame.add(tuple(p.total_sse for p in planes), sums.samples)
        self._periphery.add(tuple(p.periphery_sse for p in planes), tuple(p.periphery_pixels for p in planes))
        for k, region in enumerate(score.regions):
            sse = tuple(p.regions[k].sse for p in planes)
            self._discs.add(sse, region.samples)
            pooled, means = self._labels.setdefault(region.label, (_Sums(), {}))
            pooled.add(sse, region.samples)
            means.setdefault("fpsnr_y", _Mean()).add(region.fpsnr[0])
            means.setdefault("fpsnr_yuv", _Mean()).add(region.fpsnr_yuv)
        for name, value in zip(("psnr_y", "psnr_u", "psnr_v"), score.psnr, strict=True):
            self._mean(name, value)
        self._mean("psnr_yuv", score.psnr_yuv)
        first = score.y[0]
        self._mean("mean_fpsnr_y", first.mean_fpsnr)
        self._mean("periphery_psnr_y", first.periphery_psnr)
        self._mean("mean_fpsnr_yuv", score.mean_fpsnr_yuv)
        self._mean("periphery_psnr_yuv", score.periphery_psnr_yuv)
        for fp, y_score, yuv in zip(self.options.fps, score.y, score.m_fpsnr_yuv, strict=True):
            self._mean(fp_key("m_fpsnr_y", fp), y_score.m_fpsnr)
            self._mean(fp_key("m_fpsnr_yuv", fp), yuv)

    def _psnr(self, sums: _Sums, plane: int) -> float | None:
        if not sums.samples[plane]:
            return None
        return psnr_from_mse(sums.sse[plane] / sums.samples[plane], self.peak, max_db=self.options.max_db)

    def _rule(self, sums: _Sums) -> float | None:
        if not all(sums.samples):
            return None
        return combine(self.options.rule, sums.sse, sums.samples, self.peak, self.options.max_db)

    def summary(self) -> VideoSummary:
        """Both poolings of every value over the frames added so far."""
        mean_db = {
            name: (self._means[name].value() if name in self._means else None)
            for name in value_names(self.options.fps)
        }
        pooled: dict[str, float | None] = {
            "psnr_y": self._psnr(self._frame, 0),
            "psnr_u": self._psnr(self._frame, 1),
            "psnr_v": self._psnr(self._frame, 2),
            "psnr_yuv": self._rule(self._frame),
        }
        for plane, rule_of in (("y", lambda s: self._psnr(s, 0)), ("yuv", self._rule)):
            fovea = rule_of(self._discs)
            periphery = rule_of(self._periphery)
            pooled[f"mean_fpsnr_{plane}"] = fovea
            pooled[f"periphery_psnr_{plane}"] = periphery
            for fp in self.options.fps:
                usable = fovea is not None and (periphery is not None or fp == 0)
                pooled[fp_key(f"m_fpsnr_{plane}", fp)] = m_fpsnr_of(fovea, periphery, fp) if usable else None  # type: ignore[arg-type]
        regions = {}
        for label, (sums, means) in self._labels.items():
            regions[label] = RegionSummary(
                frames=means["fpsnr_y"].count,
                mean_db={k: m.value() for k, m in means.items()},  # type: ignore[misc]
                pooled={"fpsnr_y": self._psnr(sums, 0), "fpsnr_yuv": self._rule(sums)},  # type: ignore[dict-item]
            )
        return VideoSummary(
            frames=self.frames,
            format=self.format,
            options=self.options,
            peak=self.peak,
            mean_db=mean_db,
            pooled=pooled,
            regions=regions,
        )
