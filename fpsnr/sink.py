"""Crash-safe CSV output with resume, for ``batch`` and the RD commands.

Rows go to ``<out>.partial`` as work finishes (flushed, one whole unit at a time),
beside ``<out>.partial.json`` holding the run's settings. :meth:`CsvSink.finish`
writes the final file through a temporary file and an atomic rename, then removes the
partial files. After a crash, ``kill -9`` or Ctrl-C, ``<out>`` is either absent or the
previous complete file, and the partial file holds every finished unit; a resumed run
reads it back (a line cut short by the crash is dropped and redone) and refuses to
continue under other settings.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from fpsnr.errors import ParameterError
from fpsnr.files import atomic_open
from fpsnr.formatting import csv_cell

__all__ = ["BatchSinks", "CsvSink"]


class CsvSink:
    """One crash-safe CSV output (see the module docstring).

    ``sort_keys`` orders the final file (numbers numerically); ``None`` keeps the
    order in which rows were written. ``settings`` (plain JSON) must match on resume.
    """

    def __init__(
        self,
        out: Path,
        columns: Sequence[str],
        sort_keys: Sequence[str] | None,
        settings: dict[str, Any],
    ) -> None:
        self.out = Path(out)
        self.columns = list(columns)
        self.sort_keys = None if sort_keys is None else list(sort_keys)
        self.partial = out.with_name(out.name + ".partial")
        self.settings_file = out.with_name(out.name + ".partial.json")
        self.settings = settings
        self._handle: Any = None
        self._writer: Any = None

    def prepare(self, *, resume: bool, overwrite: bool) -> None:
        """Refuse to clobber an earlier output unless resuming or overwriting."""
        leftovers = [p for p in (self.out, self.partial) if p.exists()]
        if leftovers and not (resume or overwrite):
            hint = "--resume to finish it" if self.partial.exists() else "--overwrite to replace it"
            raise ParameterError(f"{leftovers[0]} exists; use {hint}")
        if overwrite:
            for p in (self.partial, self.settings_file):
                p.unlink(missing_ok=True)

    def previous_rows(self) -> list[dict[str, str]]:
        """Rows of an earlier run (final file and partial file), whole lines only."""
        rows: dict[tuple[str, ...], dict[str, str]] = {}
        if self.settings_file.exists():
            saved = json.loads(self.settings_file.read_text(encoding="utf-8"))
            if saved != self.settings:
                changed = sorted(
                    k for k in set(saved) | set(self.settings) if saved.get(k) != self.settings.get(k)
                )
                raise ParameterError(
                    f"{self.partial}: the interrupted run used other settings ({', '.join(changed)}); "
                    "resume with the same options or start again with --overwrite"
                )
        for path in (self.out, self.partial):
            for row in _read_whole_rows(path, self.columns):
                rows[tuple(row[k] for k in self.sort_keys or self.columns)] = row
        return list(rows.values())

    def start(self, carried: Iterable[dict[str, str]]) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.settings_file.write_text(json.dumps(self.settings, sort_keys=True), encoding="utf-8")
        with atomic_open(self.partial, "w", newline="", encoding="utf-8") as handle:
            writer = _RowWriter(handle)
            writer.writerow(self.columns)
            for row in carried:
                writer.writerow([row.get(c, "") for c in self.columns])
        self._handle = self.partial.open("a", newline="", encoding="utf-8")
        self._writer = _RowWriter(self._handle)

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        text_rows = [[csv_cell(row.get(c)) for c in self.columns] for row in rows]
        for cells in text_rows:
            self._writer.writerow(cells)
        self._handle.flush()

    def finish(self) -> int:
        """Write the final file atomically; return its number of rows."""
        self.close()
        rows = _read_whole_rows(self.partial, self.columns)
        keys = self.sort_keys
        if keys is not None:
            rows.sort(key=lambda row: tuple(_sortable(row[k]) for k in keys))
        with atomic_open(self.out, "w", newline="", encoding="utf-8") as handle:
            writer = _RowWriter(handle)
            writer.writerow(self.columns)
            for row in rows:
                writer.writerow([row[c] for c in self.columns])
        self.partial.unlink(missing_ok=True)
        self.settings_file.unlink(missing_ok=True)
        return len(rows)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class _RowWriter:
    """CSV rows ending in a line feed, quoted only where needed — carriage returns included.

    Python's csv writer quotes a cell holding a character of its line terminator, so
    with a line feed alone a carriage return in a file name went out unquoted and split
    the row when read back. A row holding one is written with every cell quoted (same values, read back
    exactly); every other row keeps the minimal quoting it always had.
    """

    def __init__(self, handle: Any) -> None:
        self._minimal = csv.writer(handle, lineterminator="\n")
        self._quoted = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, cells: Sequence[Any]) -> None:
        carriage = any(isinstance(c, str) and "\r" in c for c in cells)
        (self._quoted if carriage else self._minimal).writerow(cells)


def _sortable(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def _read_whole_rows(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    """CSV rows of ``path``, parsed as CSV (a cell may hold any character, newlines too).

    A last row cut short by a crash (no line end after it, or an unclosed quote) is
    dropped: it is redone on resume.
    """
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        text = handle.read()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    parsed: list[list[str]] = []
    try:
        for row in reader:
            parsed.append(row)
    except csv.Error:
        pass  # an unclosed quote at the end: the row being written when it stopped
    else:
        if parsed and not text.endswith(("\n", "\r")):
            parsed.pop()
    if not parsed:
        return []
    if parsed[0] != list(columns):
        raise ParameterError(
            f"{path}: not an fpsnr batch file (columns differ); use --overwrite or another --out"
        )
    return [dict(zip(columns, row, strict=True)) for row in parsed[1:] if len(row) == len(columns)]


class BatchSinks:
    """The outputs of one ``batch`` run: the scores CSV and, optionally, the per-region CSV.

    Owns what a resume means for a batch: a (label, reference) pair is done when the
    earlier output holds a row for every Fp asked for now; its rows are carried into
    the new output (rows for other Fp are dropped), and its region rows with it.
    """

    def __init__(
        self,
        out: Path,
        regions_out: Path | None,
        settings: dict[str, Any],
        *,
        score_columns: Sequence[str],
        region_columns: Sequence[str],
    ) -> None:
        self.scores = CsvSink(out, score_columns, ("label", "ref", "fp"), settings)
        self.regions = (
            None
            if regions_out is None
            else CsvSink(regions_out, region_columns, ("label", "ref", "region"), settings)
        )
        self.done: set[tuple[str, str]] = set()
        self.failed: set[tuple[str, str]] = set()

    @property
    def sinks(self) -> list[CsvSink]:
        return [self.scores] if self.regions is None else [self.scores, self.regions]

    def prepare(self, *, resume: bool, overwrite: bool) -> None:
        """Refuse to clobber earlier outputs unless resuming or overwriting."""
        for sink in self.sinks:
            sink.prepare(resume=resume, overwrite=overwrite)

    def start(self, *, fps: Sequence[float], resume: bool) -> None:
        """Carry finished pairs over when resuming, then start writing."""
        carried: list[dict[str, str]] = []
        carried_regions: list[dict[str, str]] = []
        if resume:
            previous = self.scores.previous_rows()
            wanted = {repr(float(fp)) for fp in fps}
            by_pair: dict[tuple[str, str], set[str]] = {}
            for row in previous:
                by_pair.setdefault((row["label"], row["ref"]), set()).add(row["fp"])
            self.done = {key for key, got in by_pair.items() if wanted <= got}
            carried = [r for r in previous if (r["label"], r["ref"]) in self.done and r["fp"] in wanted]
            if self.regions is not None:
                carried_regions = [
                    r for r in self.regions.previous_rows() if (r["label"], r["ref"]) in self.done
                ]
        self.scores.start(carried)
        if self.regions is not None:
            self.regions.start(carried_regions)
        self.failed = {(r["label"], r["ref"]) for r in carried if r["error"]}

    def write(self, key: tuple[str, str], rows: Iterable[dict[str, Any]],
              region_rows: Iterable[dict[str, Any]], error: str | None) -> None:  # fmt: skip
        """Write one finished pair to every output."""
        self.scores.write(rows)
        if self.regions is not None:
            self.regions.write(region_rows)
        if error is not None:
            self.failed.add(key)

    def finish(self) -> int:
        """Write the final files; return the number of score rows."""
        written = self.scores.finish()
        if self.regions is not None:
            self.regions.finish()
        return written

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
