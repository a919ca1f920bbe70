"""A codec fpsnr does not run: its decoded sequences and stream sizes, scored into video RD rows.

A points file lists what the codec made, one line per codec × rate point × sequence::

    codec,rate_point,sequence,decoded,bytes[,quality]
    mycodec,q1,foreman.y4m,decoded/foreman-q1.y4m,48211,1

``sequence`` is the source's file name in the data folder; ``decoded`` the decoded
sequence (any format ``fpsnr video`` reads; a relative path is taken from the points
file's folder); ``bytes`` the size of the codec's bitstream for the whole sequence;
``quality`` an optional number (the codec's own parameter). Each line becomes the row
``fpsnr video anchors`` writes for a coding (:mod:`fpsnr.video.anchors`), ``settings``
empty, so the codec joins the anchors in one table for ``bdrate`` and ``plot rd``.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fpsnr.errors import FpsnrError, ParameterError, template
from fpsnr.limits import MAX_TEXT_BYTES, read_text
from fpsnr.video.anchors import AnchorJob, blank_row, describe_source, score_into, source_args

__all__ = ["ExternalPoint", "external_rows", "read_points"]


@dataclass(frozen=True)
class ExternalPoint:
    """One line of a points file."""

    codec: str
    rate_point: str
    sequence: str
    decoded: str
    nbytes: int
    quality: float | None


def read_points(path: str | os.PathLike[str], data_dir: Path) -> list[ExternalPoint]:
    """The lines of a points file, checked: columns, numbers, files that exist, no line twice."""
    text = read_text(path, MAX_TEXT_BYTES, ParameterError, noun="points file", expected="a points CSV")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    needed = ("codec", "rate_point", "sequence", "decoded", "bytes")
    missing = [c for c in needed if c not in (reader.fieldnames or [])]
    if missing:
        raise ParameterError(
            f"{path}: line 1: the header lacks {', '.join(missing)} (columns: {', '.join(needed)}[, quality])"
        )
    base = Path(path).parent
    points, seen = [], set()
    for line, row in enumerate(reader, start=2):
        where = f"{path}: line {line}"
        cells = {c: (row.get(c) or "").strip() for c in (*needed, "quality")}
        empty = [c for c in needed if not cells[c]]
        if empty:
            raise ParameterError(f"{where}: column {empty[0]} is empty")
        try:
            nbytes = int(cells["bytes"])
        except ValueError:
            raise ParameterError(
                f"{where}, column bytes: expected a whole number, got {cells['bytes']!r}"
            ) from None
        if nbytes <= 0:
            raise ParameterError(f"{where}, column bytes: a bitstream has at least one byte, got {nbytes}")
        quality = None
        if cells["quality"]:
            try:
                quality = float(cells["quality"])
            except ValueError:
                quality = math.nan
            if not math.isfinite(quality):
                raise ParameterError(
                    f"{where}, column quality: expected a finite number, got {cells['quality']!r}"
                )
        if not (data_dir / cells["sequence"]).is_file():
            raise ParameterError(f"{where}: no sequence {cells['sequence']} in {data_dir}")
        decoded = Path(cells["decoded"]) if Path(cells["decoded"]).is_absolute() else base / cells["decoded"]
        if not decoded.is_file():
            raise ParameterError(f"{where}: no decoded sequence at {decoded}")
        key = (cells["codec"], cells["rate_point"], cells["sequence"])
        if key in seen:
            raise ParameterError(f"{where}: {key[0]} at {key[1]} on {key[2]} is given twice")
        seen.add(key)
        points.append(ExternalPoint(*key, str(decoded), nbytes, quality))
    if not points:
        raise ParameterError(f"{path}: the file has no points, only a header")
    return points


def _row(point: ExternalPoint, data_dir: Path, job: AnchorJob) -> dict[str, Any]:
    sequence = str(data_dir / point.sequence)
    row = blank_row(job, point.codec, point.rate_point, point.quality, sequence)
    row["settings"] = ""
    try:
        _, (fmt, rate) = source_args(sequence, job)
        describe_source(row, fmt, rate)
        score_into(row, sequence, point.decoded, point.nbytes, job)
    except FpsnrError as err:
        row["error"] = template(err)
    return row


def external_rows(
    points: Sequence[ExternalPoint], data_dir: Path, job: AnchorJob, skip: Any = ()
) -> Iterator[dict[str, Any]]:
    """The row of each point not in ``skip`` ((codec, rate point, sequence path) keys), in order."""
    for point in points:
        if (point.codec, point.rate_point, str(data_dir / point.sequence)) not in skip:
            yield _row(point, data_dir, job)
