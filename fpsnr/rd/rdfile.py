"""RD files: written crash-safe with resume, read back and checked, exported for CompressAI."""

from __future__ import annotations

import io
import itertools
import os
import stat
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fpsnr.errors import ParameterError
from fpsnr.files import read_error
from fpsnr.limits import MAX_TEXT_BYTES, read_capped
from fpsnr.rd.images import image_name
from fpsnr.rd.schema import RDKey, rd_columns
from fpsnr.runs.sink import CsvSink

__all__ = [
    "COMPRESSAI_KEYS",
    "compressai_results",
    "read_rd_csv",
    "read_rd_csvs",
    "write_rd_csv",
    "write_rd_run",
]


def write_rd_csv(
    rows: Iterable[dict[str, Any]], out: str | os.PathLike[str], fps: Sequence[float]
) -> list[dict[str, Any]]:
    """Write RD rows as they come, crash-safe, full-precision numbers; return them.

    Any earlier output is replaced; rows go to ``<out>.partial`` one by one and the
    final file replaces ``out`` atomically at the end (see :class:`fpsnr.runs.sink.CsvSink`).
    No settings file is kept: :func:`write_rd_run` is the resumable form.
    """
    return write_rd_run(lambda done: rows, out, fps, settings={}, overwrite=True, record=False)


def write_rd_run(
    make_rows: Callable[[Collection[RDKey]], Iterable[dict[str, Any]]],
    out: str | os.PathLike[str],
    fps: Sequence[float],
    *,
    settings: dict[str, Any],
    resume: bool = False,
    overwrite: bool = False,
    record: bool = True,
    columns: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """An RD run into ``out`` the way ``batch`` writes: refused over an earlier output, resumable.

    ``make_rows(done)`` yields the rows still to make, given the (codec, rate point,
    image) keys an earlier, interrupted run of the same ``settings`` already wrote
    (``resume``; its rows are kept, error rows included). Without ``resume`` or
    ``overwrite`` an existing output is refused. Rows are written as they come; the
    settings are kept in ``<out>.settings`` (unless not ``record``) so a resume with other
    settings is refused. Returns every row of the output (those carried over as read
    back, as text). ``columns`` replaces the image table's (a video RD table's, for one).
    """
    columns = list(columns) if columns is not None else rd_columns(fps)
    sink = CsvSink(Path(out), columns, None, {"rd_columns": columns, **settings}, record=record,
                   numeric=[c for c in columns if c not in _TEXT_COLUMNS])  # fmt: skip
    sink.prepare(resume=resume, overwrite=overwrite)
    written: list[dict[str, Any]] = []
    try:
        carried = sink.previous_rows() if resume else []
        done = {(r["codec"], r["rate_point"], r["image"]) for r in carried}
        iterator = iter(make_rows(done))
        first = next(iterator, None)  # a run refused before any row (no images...) leaves no file
        sink.start(carried)
        written.extend(carried)
        for row in iterator if first is None else itertools.chain([first], iterator):
            sink.write([row])
            written.append(row)
    except BaseException:
        sink.abandon()  # removes the partial file only if it holds no rows
        raise
    sink.finish()
    return written


def _csv_source(path: Path) -> Path | io.BytesIO:
    """A regular file as itself; a pipe or device read, counted, up to 64 MiB (G22).

    ``/dev/zero`` never ends and an endless pipe of rows would fill memory; a process
    substitution (``<(…)``) of a real RD file still reads.
    """
    try:
        mode = path.stat().st_mode
    except OSError as err:
        raise read_error(path, err, ParameterError, noun="RD file", expected="an RD CSV") from err
    if stat.S_ISREG(mode):
        return path
    data = read_capped(path, MAX_TEXT_BYTES, ParameterError, noun="RD file", expected="an RD CSV")
    if data is None:
        raise ParameterError(
            f"{path}: more than {MAX_TEXT_BYTES:,} bytes from a pipe or device; save the RD CSV to a file"
        )
    return io.BytesIO(data)


def read_rd_csv(path: str | os.PathLike[str]) -> Any:
    """An RD CSV as a DataFrame (``error`` as strings, empty when the row scored)."""
    import pandas as pd

    p = Path(path)
    try:
        # every cell as text: numbers are parsed and checked by _check_numbers, which can then
        # quote a bad cell exactly as it is written
        frame = pd.read_csv(_csv_source(p), keep_default_na=False, na_values=[""], dtype=str)
    except FileNotFoundError as err:
        raise ParameterError(f"{p}: no such RD file") from err
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise ParameterError(f"{p}: not a readable CSV ({err})") from err
    missing = [c for c in ("codec", "rate_point", "image", "bpp", "psnr", "error") if c not in frame.columns]
    if missing:
        raise ParameterError(f"{p}: not an fpsnr RD file (missing columns {', '.join(missing)})")
    frame["error"] = frame["error"].fillna("").astype(str)
    _check_numbers(frame, p)
    return frame


def read_rd_csvs(paths: Sequence[str | os.PathLike[str]]) -> Any:
    """Several RD CSVs as one DataFrame (anchors from one run, learned codecs from another).

    Columns are the union (a metric a file lacks is empty in its rows). The same
    (codec, rate point, image) in two files — images matched by file name, as curves are
    compared (:mod:`fpsnr.rd.images`) — is an error naming both, never a silent double count.
    """
    import pandas as pd

    if not paths:
        raise ParameterError("give at least one RD CSV")
    frames = [read_rd_csv(path) for path in paths]
    if len(frames) == 1:
        return frames[0]
    seen: dict[tuple[str, str, str], int] = {}
    for n, (path, frame) in enumerate(zip(paths, frames, strict=True)):
        for key in zip(frame["codec"], frame["rate_point"], frame["image"].map(image_name), strict=True):
            if seen.get(key, n) != n:
                raise ParameterError(
                    f"{path}: codec {key[0]!r} at rate point {key[1]!r} on {key[2]} is also in "
                    f"{paths[seen[key]]}; give each result once"
                )
            seen[key] = n
    return pd.concat(frames, ignore_index=True, sort=False)


_TEXT_COLUMNS = ("codec", "rate_point", "image", "settings", "error")


def _check_numbers(frame: Any, path: Path) -> None:
    """Every number cell parses; a row that scored has a finite bpp ≥ 0 and no NaN metric.

    A bad cell is named by line and column (the header is line 1), never met later as
    a pandas ``TypeError`` in the middle of a computation.
    """
    import pandas as pd

    scored = (frame["error"] == "").to_numpy()
    for column in frame.columns:
        if column in _TEXT_COLUMNS:
            continue
        raw = frame[column]
        numbers = pd.to_numeric(raw, errors="coerce")
        values = numbers.to_numpy(dtype=float, copy=True)
        present = raw.notna().to_numpy(copy=True)
        bad = np.isnan(values) & present
        if column == "bpp":
            bad |= scored & ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            shown = repr(raw.iloc[row]) if present[row] else "an empty cell"
            raise ParameterError(
                f"{path}: line {row + 2}, column {column}: {shown} is not "
                f"{'a finite number ≥ 0' if column == 'bpp' else 'a number'}; fix or remove that row"
            )
        frame[column] = numbers


COMPRESSAI_KEYS = {
    "bpp": "bpp",
    "psnr": "psnr-rgb",
    "ms_ssim": "ms-ssim-rgb",
    "encode_seconds": "encoding_time",
    "decode_seconds": "decoding_time",
}
"""fpsnr RD columns → the keys of CompressAI's ``results`` JSON; other metric columns keep
their names with ``_`` → ``-`` (``mean_fpsnr`` → ``mean-fpsnr``, ``m_fpsnr_fp0.5`` →
``m-fpsnr-fp0.5``)."""


def compressai_results(frame: Any, codec: str) -> tuple[dict[str, Any], list[str]]:
    """One codec's RD rows in CompressAI's ``results/image/<dataset>/<codec>.json`` layout.

    Each list holds one value per rate point, in increasing bpp: the mean over images,
    as CompressAI's own evaluation averages per-image numbers. A rate point where some
    image failed is left out (a mean over fewer images is another curve); its name is
    returned with the document so the caller can say so.
    """
    rows = frame[frame["codec"] == codec]
    if rows.empty:
        known = ", ".join(sorted(set(frame["codec"])))
        has = f"the file has {known}" if known else "the file has no rows"
        raise ParameterError(f"no rows for codec {codec!r}; {has}")
    failed = sorted(set(rows.loc[rows["error"] != "", "rate_point"]))
    good = rows[(rows["error"] == "") & ~rows["rate_point"].isin(failed)]
    skip = {*_TEXT_COLUMNS, "quality", "width", "height", "bytes"}
    metrics = [c for c in good.columns if c not in skip and good[c].notna().any()]
    means = good.groupby("rate_point")[metrics].mean().sort_values("bpp")
    results = {
        COMPRESSAI_KEYS.get(column, column.replace("_", "-")): [float(v) for v in means[column]]
        for column in metrics
    }
    images = good["image"].nunique()
    document = {
        "name": codec,
        "description": f"fpsnr RD rows: mean over {images} image{'' if images == 1 else 's'} per rate point "
        f"({', '.join(str(p) for p in means.index)})",
        "results": results,
    }
    return document, failed
