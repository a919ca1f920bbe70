"""What a video run writes: per-frame and per-region CSV rows, crash-safe; the summary as text.

A CSV is written to ``<file>.partial`` row by row as frames are scored, under the lock
``<file>.lock``, and renamed to ``<file>`` once the last frame is in: the file is there
complete or not at all. A run that is stopped leaves its ``.partial`` (the frames done
so far) for a person to read; the next run replaces it. A run refused before its first
frame leaves nothing.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import IO, Any

from fpsnr.errors import OutputError
from fpsnr.files import refuse_link
from fpsnr.formatting import csv_cell
from fpsnr.runs.lock import OutputLock
from fpsnr.video.measure import FrameScore, VideoOptions
from fpsnr.video.pool import POOLINGS, VideoSummary, fp_key

__all__ = ["FrameCsv", "format_summary_csv", "format_summary_json", "format_summary_table"]


def frame_columns(options: VideoOptions) -> list[str]:
    cols = [
        "frame",
        "mse_y",
        "mse_u",
        "mse_v",
        "psnr_y",
        "psnr_u",
        "psnr_v",
        "psnr_yuv",
        "n_regions",
        "mean_fpsnr_y",
        "periphery_psnr_y",
    ]
    cols += [fp_key("m_fpsnr_y", fp) for fp in options.fps]
    cols += ["mean_fpsnr_yuv", "periphery_psnr_yuv"]
    return cols + [fp_key("m_fpsnr_yuv", fp) for fp in options.fps]


def frame_row(score: FrameScore, options: VideoOptions) -> list[Any]:
    first = score.y[0]
    row: list[Any] = [
        score.index,
        *score.mse,
        *score.psnr,
        score.psnr_yuv,
        len(score.regions),
        first.mean_fpsnr,
        first.periphery_psnr,
    ]
    row += [s.m_fpsnr for s in score.y]
    row += [score.mean_fpsnr_yuv, score.periphery_psnr_yuv, *score.m_fpsnr_yuv]
    return row


def region_columns() -> list[str]:
    return [
        "frame",
        "label",
        "x",
        "y",
        "radius",
        "pixels_y",
        "pixels_u",
        "pixels_v",
        "mse_y",
        "mse_u",
        "mse_v",
        "fpsnr_y",
        "fpsnr_u",
        "fpsnr_v",
        "fpsnr_yuv",
    ]


def region_rows(score: FrameScore) -> list[list[Any]]:
    return [
        [score.index, r.label, r.center[0], r.center[1], r.radius, *r.samples, *r.mse, *r.fpsnr, r.fpsnr_yuv]
        for r in score.regions
    ]


class FrameCsv:
    """A CSV written row by row to ``<target>.partial`` under a lock, renamed on :meth:`finish`."""

    def __init__(self, target: Path, columns: list[str]) -> None:
        self.target = target
        self.partial = target.with_name(target.name + ".partial")
        self.columns = columns
        self._lock = OutputLock(target)
        self._handle: IO[str] | None = None
        self._writer: Any = None
        self._rows = 0

    def __enter__(self) -> FrameCsv:
        refuse_link(self.target)
        try:
            self._lock.acquire()
        except OSError as err:
            if isinstance(err, OutputError):
                raise
            raise OutputError(
                f"{self.target}: cannot write ({err.strerror or err}); choose another output"
            ) from err
        try:
            refuse_link(self.partial)
            fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)
            self._handle = os.fdopen(fd, "w", newline="", encoding="utf-8")
        except OSError as err:
            self._lock.release()
            if isinstance(err, OutputError):
                raise
            raise OutputError(
                f"{self.partial}: cannot write ({err.strerror or err}); choose another output"
            ) from err
        self._writer = csv.writer(self._handle, lineterminator="\n")
        self._writer.writerow(self.columns)
        return self

    def write(self, row: list[Any]) -> None:
        assert self._handle is not None
        self._writer.writerow([csv_cell(v) for v in row])
        self._handle.flush()
        self._rows += 1

    def write_many(self, rows: list[list[Any]]) -> None:
        assert self._handle is not None
        self._writer.writerows([[csv_cell(v) for v in row] for row in rows])
        self._handle.flush()
        self._rows += len(rows)

    def finish(self) -> None:
        """Every row is in: sync and rename the partial file to the target."""
        assert self._handle is not None
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._handle = None
        refuse_link(self.target)
        os.replace(self.partial, self.target)

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:  # stopped before the end
            self._handle.close()
            self._handle = None
            if not self._rows:  # refused before its first frame: nothing to keep
                self.partial.unlink(missing_ok=True)
        self._lock.release()


# --------------------------------------------------------------------------- summary


def _db(value: float | None) -> str:
    if value is None:
        return "—"
    return "inf" if math.isinf(value) else f"{value:.4f}"


_LABELS = {
    "psnr_y": "PSNR Y",
    "psnr_u": "PSNR U",
    "psnr_v": "PSNR V",
    "psnr_yuv": "PSNR YUV",
    "mean_fpsnr_y": "mean F_PSNR Y",
    "periphery_psnr_y": "periphery Y",
    "mean_fpsnr_yuv": "mean F_PSNR YUV",
    "periphery_psnr_yuv": "periphery YUV",
}


def _label(name: str, rule: str) -> str:
    if name.startswith("m_fpsnr_"):
        plane, _, fp = name[len("m_fpsnr_") :].partition("_fp")
        text = f"M-FPSNR {plane.upper()} Fp={fp}"
    else:
        text = _LABELS[name]
    return text.replace("YUV", f"YUV {rule}")


def format_summary_table(summary: VideoSummary, ref: str, dist: str) -> str:
    """The summary for people: each value under both poolings, then each region label."""
    fmt = summary.format
    o = summary.options
    cap = "no cap" if o.max_db is None else f"capped at {o.max_db:g} dB per frame"
    lines = [
        f"reference  {ref}",
        f"test       {dist}",
        f"video      {fmt.describe()}, {summary.frames} frames, peak {summary.peak:g} ({o.peak}), {cap}",
        "",
    ]
    names = list(summary.mean_db)
    width = max(len(_label(n, o.rule)) for n in names) + 2
    lines.append(f"{'':<{width}}{'mean of dB':>12}{'pooled SSE':>12}")
    for name in names:
        lines.append(
            f"{_label(name, o.rule):<{width}}{_db(summary.mean_db[name]):>12}{_db(summary.pooled[name]):>12}"
        )
    if summary.regions:
        lines.append("")
        lw = max(len("region"), *(len(k) for k in summary.regions)) + 2
        lines.append(f"{'region':<{lw}}{'frames':>7}{'F_PSNR Y':>11}{'pooled':>10}{'YUV':>10}{'pooled':>10}")
        for label, r in summary.regions.items():
            lines.append(
                f"{label:<{lw}}{r.frames:>7}{_db(r.mean_db['fpsnr_y']):>11}{_db(r.pooled['fpsnr_y']):>10}"
                f"{_db(r.mean_db['fpsnr_yuv']):>10}{_db(r.pooled['fpsnr_yuv']):>10}"
            )
    return "\n".join(lines)


def format_summary_json(summary: VideoSummary, ref: str, dist: str) -> str:
    return json.dumps({"ref": ref, "test": dist, **summary.to_dict()}, indent=2, allow_nan=False)


def format_summary_csv(summary: VideoSummary, ref: str, dist: str) -> str:
    """One row per pooling rule, one column per value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = list(summary.mean_db)
    writer.writerow(["ref", "test", "frames", "pix_fmt", "rule", "peak", "pooling", *names])
    for pooling in POOLINGS:
        values = getattr(summary, pooling)
        writer.writerow(
            [
                ref,
                dist,
                summary.frames,
                summary.format.pix_fmt,
                summary.options.rule,
                summary.peak,
                pooling,
                *(csv_cell(values[n]) for n in names),
            ]
        )
    return out.getvalue()
