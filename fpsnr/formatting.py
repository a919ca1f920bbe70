"""Text forms of results: table for people, JSON and CSV for programs.

JSON cannot hold infinity, so ``inf`` is written as the string ``"inf"``; CSV writes
``inf``. Floats in JSON and CSV keep full precision (``repr``); the table rounds to
four decimals for reading.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from fpsnr.errors import REMEDIES, say
from fpsnr.results import RoundtripResult, Score

__all__ = [
    "CSV_COLUMNS",
    "csv_cell",
    "format_csv",
    "format_json",
    "format_roundtrip",
    "format_roundtrip_json",
    "format_table",
    "json_value",
]

CSV_COLUMNS = (
    "ref", "test", "width", "height", "channels", "channel", "peak",
    "fp", "psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr",
)  # fmt: skip


def json_value(value: Any) -> Any:
    """Replace float infinities (at any depth) by the strings "inf" / "-inf"."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def format_json(scores: Sequence[Score]) -> str:
    """One JSON object for one Fp, an array of objects for several."""
    items = [json_value(s.to_dict()) for s in scores]
    return json.dumps(items[0] if len(items) == 1 else items, indent=2, allow_nan=False)


def csv_cell(value: Any) -> Any:
    """A CSV cell: empty for None, full-precision ``repr`` for floats (``inf`` too)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # 'inf' for infinity, full precision otherwise
    return value


def format_csv(scores: Sequence[Score]) -> str:
    """One row per Fp with the scalar columns of :data:`CSV_COLUMNS`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in scores:
        row = s.to_dict()
        writer.writerow([csv_cell(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def _db(value: float | None) -> str:
    if value is None:
        return "—"
    return "inf" if math.isinf(value) else f"{value:.4f}"


def _num(value: float) -> str:
    return f"{value:.4g}" if not float(value).is_integer() else f"{int(value)}"


def format_table(scores: Sequence[Score]) -> str:
    """A human-readable report: the pair, each region, and M-FPSNR per Fp."""
    first = scores[0]
    lines = []
    if first.ref is not None or first.test is not None:
        lines.append(f"reference  {first.ref}")
        lines.append(f"test       {first.test}")
    kind = "gray" if first.channels == 1 else "RGB"
    lines.append(
        f"image      {first.width}×{first.height} {kind}, scored on {first.channel}, peak {_num(first.peak)}"
    )
    lines.append("")
    header = ("region", "centre (x, y)", "radius", "pixels", "MSE", "F_PSNR dB")
    rows = [
        (
            r.label,
            f"({r.center[0]:.1f}, {r.center[1]:.1f})",
            f"{r.radius:.2f}",
            str(r.pixels),
            f"{r.mse:.4f}",
            _db(r.fpsnr),
        )
        for r in first.regions
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    align = ("<", "<", ">", ">", ">", ">")
    for row in (header, *rows):
        lines.append(
            "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths, strict=True)).rstrip()
        )
    lines.append("")
    lines += _quality_rows(first.psnr, scores)
    return "\n".join(lines)


def _quality_rows(psnr: float, scores: Sequence[Score]) -> list[str]:
    """PSNR, mean F_PSNR, periphery PSNR and M-FPSNR per Fp: one label column, numbers aligned."""
    first = scores[0]
    rows = [
        f"{'PSNR':<16}{_db(psnr):>10} dB",
        f"{'mean F_PSNR':<16}{_db(first.mean_fpsnr):>10} dB   ({_count(len(first.regions), 'region')})",
        f"{'periphery PSNR':<16}{_db(first.periphery_psnr):>10} dB",
    ]
    return rows + [f"{f'M-FPSNR Fp={s.fp:g}':<16}{_db(s.m_fpsnr):>10} dB" for s in scores]


def format_roundtrip(result: RoundtripResult, *, words: Mapping[str, str] = REMEDIES) -> str:
    """The ``fpsnr codec roundtrip`` report: rate, quality, timing.

    Its note on missing regions names the remedy as ``words`` says (the CLI: its flag).
    """
    lines = [
        f"image        {result.image}  ({result.width}×{result.height})",
        f"model        {result.model}  λ={result.lmbda:g}  weights {result.weights}",
        f"size         {result.bytes} bytes ({result.payload_bytes} payload)",
        f"bpp          {result.bpp_payload:.4f} payload, {result.bpp_file:.4f} whole file",
        f"time         encode {result.encode_seconds:.3f} s, decode {result.decode_seconds:.3f} s",
    ]
    if result.scores:
        lines += _quality_rows(result.psnr, result.scores)
    else:
        lines.append(f"{'PSNR':<16}{_db(result.psnr):>10} dB")
        lines.append(say("(no {regions}: F_PSNR and M-FPSNR need foveal regions)", words))
    return "\n".join(lines)


def format_roundtrip_json(result: RoundtripResult) -> str:
    return json.dumps(json_value(result.to_dict()), indent=2, allow_nan=False)


def _count(n: int, noun: str) -> str:
    """``1 region``, ``3 regions``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
