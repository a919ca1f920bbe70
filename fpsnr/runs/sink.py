"""Crash-safe CSV output with resume, for ``batch`` and the RD commands.

Rows go to ``<out>.partial`` as work finishes (flushed, one whole unit at a time),
beside ``<out>.settings`` (JSON) holding the run's settings. :meth:`CsvSink.finish`
writes the final file through a temporary file and an atomic rename, then removes the
partial file. After a crash, ``kill -9`` or Ctrl-C, ``<out>`` is either absent or the
previous complete file, and the partial file holds every finished unit; a resumed run
reads it back (a line cut short by the crash, or a row whose numbers do not parse, is
dropped and redone) and refuses to continue under other settings — also when the
earlier run had finished, since the settings file stays beside the output. File names
are written and read back byte for byte: text is UTF-8, and a name that is not valid
UTF-8 keeps its raw bytes (``surrogateescape``), as the file system holds them.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from fpsnr.errors import OutputError, ParameterError
from fpsnr.files import atomic_open, atomic_path, open_regular, refuse_link, write_bytes_atomic
from fpsnr.formatting import csv_cell
from fpsnr.limits import MAX_TEXT_BYTES, read_bounded
from fpsnr.runs.lock import OutputLock
from fpsnr.runs.spill import sorted_rows

__all__ = ["CsvSink"]

_TEXT: dict[str, Any] = {"encoding": "utf-8", "errors": "surrogateescape", "newline": ""}


def _output_error(path: Path, err: OSError, hint: str) -> OutputError:
    return OutputError(f"{path}: cannot write ({err.strerror or err}); {hint}")


class CsvSink:
    """One crash-safe CSV output (see the module docstring).

    ``sort_keys`` orders the final file (numbers numerically); ``None`` keeps the
    order in which rows were written. ``settings`` (plain JSON) must match on resume.
    ``numeric`` names columns that must hold a number (or nothing) in a row read back;
    a row that does not is dropped and redone. ``record`` keeps the settings file
    beside the finished output, so a later ``--resume`` can check them.
    """

    def __init__(
        self,
        out: Path,
        columns: Sequence[str],
        sort_keys: Sequence[str] | None,
        settings: dict[str, Any],
        *,
        numeric: Sequence[str] = (),
        integers: Sequence[str] = (),
        record: bool = True,
        fmt: str = "csv",
    ) -> None:
        self.out = Path(out)
        self.columns = list(columns)
        self.sort_keys = None if sort_keys is None else list(sort_keys)
        self.numeric = [c for c in numeric if c in self.columns]
        self.integers = [c for c in integers if c in self.columns]
        if fmt not in ("csv", "parquet"):
            raise ParameterError(f"output format {fmt!r}; use csv or parquet")
        self.fmt = fmt
        self.partial = self.out.with_name(self.out.name + ".partial")
        self.settings_file = self.out.with_name(self.out.name + ".settings")
        self.settings = settings
        self.record = record
        self.dropped = 0
        """Rows read back that did not parse (damaged), redone by this run."""
        self._lock = OutputLock(self.out)
        self._handle: Any = None
        self._writer: Any = None
        self._created = False
        self._wrote = False
        """Whether the partial file holds rows (carried over from an earlier run, or written)."""

    def _check_name_length(self) -> None:
        """Refuse a name too long for the files kept beside it (reliability G27).

        A legal name of 247–255 bytes failed as '….partial: File name too long', which
        blamed the wrong file; the longest suffix, ``.settings``, is counted up front.
        """
        try:
            limit = os.pathconf(self.out.parent, "PC_NAME_MAX")
        except (OSError, ValueError):
            limit = 255
        longest = len(os.fsencode(self.settings_file.name))
        if longest > limit:
            room = limit - (longest - len(os.fsencode(self.out.name)))
            raise ParameterError(
                f"{self.out}: a name of {len(os.fsencode(self.out.name))} bytes; fpsnr keeps "
                f"'<name>.settings' and '<name>.partial' beside its output, and this file system allows "
                f"{limit}: give a name of at most {room} bytes"
            )

    def prepare(self, *, resume: bool, overwrite: bool) -> None:
        """Take the output's lock; refuse to clobber an earlier output unless resuming or overwriting."""
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _output_error(self.out.parent, err, "choose {another_out}") from err
        self._check_name_length()
        try:
            self._lock.acquire()
        except OutputError:
            raise
        except OSError as err:
            raise _output_error(self._lock.path, err, "choose {another_out}") from err
        try:
            for path in (self.out, self.partial, self.settings_file):
                refuse_link(path)  # before any work, not when the finished rows are written
        except OutputError:
            self.close()
            raise
        leftovers = [p for p in (self.out, self.partial) if p.exists()]
        if leftovers and not (resume or overwrite):
            self.close()
            hint = "{resume} to finish it" if self.partial.exists() else "{overwrite} to replace it"
            raise ParameterError(f"{leftovers[0]} exists; use {hint}")
        if overwrite:
            for p in (self.partial, self.settings_file):
                p.unlink(missing_ok=True)

    def _saved_state(self) -> dict[str, Any] | None:
        if not self.settings_file.exists():
            return None
        try:
            with open_regular(self.settings_file, ParameterError, expected="an fpsnr settings record") as raw:
                data = read_bounded(raw, MAX_TEXT_BYTES)
            if data is None:
                raise ValueError(f"more than {MAX_TEXT_BYTES:,} bytes")
            state = json.loads(data.decode("utf-8"))
        except ParameterError:
            raise
        except (OSError, ValueError) as err:
            raise ParameterError(
                f"{self.settings_file}: damaged ({err}); start again with {{overwrite}}"
            ) from err
        if not (isinstance(state, dict) and isinstance(state.get("settings"), dict)
                and isinstance(state.get("finished"), bool)):  # fmt: skip
            raise ParameterError(
                f"{self.settings_file}: not an fpsnr settings record; start again with {{overwrite}}"
            )
        return state

    def previous_rows(self) -> list[dict[str, str]]:
        """Rows of an earlier run (finished file or partial file), whole and well-formed rows only."""
        state = self._saved_state()
        if state is None:
            if self.out.exists() or self.partial.exists():
                what = self.out if self.out.exists() else self.partial
                raise ParameterError(
                    f"{what}: no record of the settings that made it ({self.settings_file} is missing), "
                    "so it cannot be resumed safely; start again with {overwrite}"
                )
            return []
        saved = state["settings"]
        changed = _changed(saved, self.settings)
        if changed:
            when = "finished" if state["finished"] else "interrupted"
            raise ParameterError(
                f"{self.out}: the {when} run used other settings ({', '.join(changed)}); "
                "resume with the same options or start again with {overwrite}"
            )
        # An unfinished run's final file (if any) is older than its settings: only its partial counts.
        sources = [self.partial] + ([self.out] if state["finished"] else [])
        rows: dict[tuple[str, ...], dict[str, str]] = {}
        for path in sources:
            for row in self._read_valid(path):
                rows.setdefault(tuple(row[k] for k in self.sort_keys or self.columns), row)
        return list(rows.values())

    def _read_valid(self, path: Path) -> list[dict[str, str]]:
        if path == self.out and self.fmt == "parquet":
            rows = _read_parquet_rows(path, self.columns)
        else:
            rows = _read_whole_rows(path, self.columns)
        good = [row for row in rows if all(_is_number_cell(row[c]) for c in self.numeric)]
        self.dropped += len(rows) - len(good)
        return good

    def start(self, carried: Iterable[dict[str, str]]) -> None:
        """Write the settings record and the partial file, holding the rows ``carried`` over."""
        record = json.dumps({"settings": self.settings, "finished": False}, sort_keys=True)
        try:
            write_bytes_atomic(self.settings_file, record.encode("utf-8"))
            self._created = True
            with atomic_open(self.partial, "w", **_TEXT) as handle:
                writer = _RowWriter(handle)
                writer.writerow(self.columns)
                for row in carried:
                    writer.writerow([row.get(c, "") for c in self.columns])
                    self._wrote = True
            self._handle = self.partial.open("a", **_TEXT)
        except OSError as err:
            raise _output_error(self.partial, err, "choose {another_out}") from err
        self._writer = _RowWriter(self._handle)

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        text_rows = [[csv_cell(row.get(c)) for c in self.columns] for row in rows]
        try:
            for cells in text_rows:
                self._writer.writerow(cells)
            self._handle.flush()
        except OSError as err:
            raise _output_error(
                self.partial, err, "free space or fix the folder, then run it again with {resume}"
            ) from err
        self._wrote = True

    def finish(self) -> int:
        """Write the final file atomically; return its number of rows.

        A CSV output is sorted holding a bounded number of rows in memory
        (:mod:`fpsnr.runs.spill`), so the command's memory does not grow with the run; a
        Parquet output is built as one table, in memory, at the end.
        """
        try:
            self._close_handle()
            if self.fmt == "parquet":
                rows = _read_whole_rows(self.partial, self.columns)
                keys = self.sort_keys
                if keys is not None:
                    rows.sort(key=lambda row: tuple(_sortable(row[k]) for k in keys))
                self._write_parquet(rows)
                count = len(rows)
            else:
                count = self._write_csv()
            if self.record:
                record = json.dumps({"settings": self.settings, "finished": True}, sort_keys=True)
                write_bytes_atomic(self.settings_file, record.encode("utf-8"))
            else:
                self.settings_file.unlink(missing_ok=True)
            self.partial.unlink(missing_ok=True)
        except OSError as err:
            raise _output_error(
                self.out, err, "free space or fix the folder, then run it again with {resume}"
            ) from err
        finally:
            self.close()
        return count

    def _write_csv(self) -> int:
        cells = _iter_whole_rows(self.partial, self.columns)
        if self.sort_keys is not None:
            at = [self.columns.index(k) for k in self.sort_keys]
            cells = sorted_rows(
                cells, lambda row: tuple(_sortable(row[i]) for i in at), folder=self.out.parent
            )
        count = 0
        with atomic_open(self.out, "w", **_TEXT) as handle:
            writer = _RowWriter(handle)
            writer.writerow(self.columns)
            for row in cells:
                writer.writerow(row)
                count += 1
        return count

    def _write_parquet(self, rows: list[dict[str, str]]) -> None:
        """The final file as Parquet: numbers as float64 (integers as nullable Int64), text as text.

        The partial file stays CSV (appendable, crash-safe); only the finished output is
        Parquet. Floats keep every bit (the CSV cells are full-precision ``repr``).
        """
        import pandas as pd

        frame = pd.DataFrame(rows, columns=self.columns, dtype=object)
        for column in self.numeric:
            frame[column] = pd.to_numeric(frame[column].replace("", None), errors="raise").astype(
                "Int64" if column in self.integers else "float64"
            )
        for column in self.columns:
            if column not in self.numeric:
                # Parquet text is UTF-8: a name that is not (surrogate escapes) gets its raw
                # bytes written as \xNN escapes there; the CSV output keeps the bytes themselves.
                frame[column] = frame[column].map(_utf8_text).astype("string")
        try:
            with atomic_path(self.out) as tmp:
                frame.to_parquet(tmp, index=False)
        except ImportError as err:
            raise ParameterError(
                "{parquet} needs pyarrow: pip install -e '.[parquet]' in the fpsnr checkout"
            ) from err

    def abandon(self) -> None:
        """Stop; if this run started the partial file and it holds no rows, remove it.

        A run refused before its first row (no images, a bad label list...) then leaves
        nothing that would block the corrected command; rows carried over from an earlier
        run, or written by this one, stay for ``--resume``.
        """
        try:
            if self._created and not self._wrote and self._handle is not None:
                self._close_handle()
                with contextlib.suppress(OSError):
                    self.partial.unlink(missing_ok=True)
                    if not self.out.exists():
                        self.settings_file.unlink(missing_ok=True)
        finally:
            self.close()

    def _close_handle(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.close()

    def close(self) -> None:
        """Close the partial file and release the lock (idempotent)."""
        try:
            with contextlib.suppress(OSError):
                self._close_handle()
        finally:
            self._lock.release()


def _changed(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The settings that differ between a run and its resume.

    A ``*_sha256`` table of files (name → digest) may gain entries — files added since,
    as a regions file for an image added to the run — but each earlier file must be there
    with the same content.
    """
    out = []
    for key in sorted(set(saved) | set(current)):
        before, now = saved.get(key), current.get(key)
        if key.endswith("_sha256") and isinstance(before, dict) and isinstance(now, dict):
            same = all(now.get(name) == digest for name, digest in before.items())
        else:
            same = before == now
        if not same:
            out.append(key)
    return out


def _utf8_text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return value


def _read_parquet_rows(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    """A finished Parquet output's rows as the CSV cells they were written from."""
    import pandas as pd

    if not path.exists():
        return []
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many types for a foreign file
        raise ParameterError(f"{path}: not a readable Parquet file ({err}); use {{overwrite}}") from err
    if list(frame.columns) != list(columns):
        raise ParameterError(
            f"{path}: not an fpsnr batch file (columns differ); use {{overwrite}} or {{another_out}}"
        )
    rows: list[dict[str, str]] = []
    for record in frame.to_dict("records"):
        rows.append({str(c): "" if pd.isna(v) else str(csv_cell(float(v) if isinstance(v, float) else v))
                     for c, v in record.items()})  # fmt: skip
    return rows


def _is_number_cell(value: str) -> bool:
    if value == "":
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True


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
    return [dict(zip(columns, row, strict=True)) for row in _iter_whole_rows(path, columns)]


def _iter_whole_rows(path: Path, columns: Sequence[str]) -> Iterator[list[str]]:
    """The cells of each whole row of ``path`` after its header, read as a stream."""
    if not path.exists():
        return
    expected = "an fpsnr results file (CSV)"
    with open_regular(path, ParameterError, expected=expected) as raw, io.TextIOWrapper(raw, **_TEXT) as text:
        raw.seek(0, io.SEEK_END)
        size = raw.tell()
        if size:
            raw.seek(-1, io.SEEK_END)
        ends_whole = size == 0 or raw.read(1) in (b"\n", b"\r")
        raw.seek(0)
        reader = csv.reader(text, strict=True)
        header = next(reader, None)
        if header is None:
            return
        if header != list(columns):
            raise ParameterError(
                f"{path}: not an fpsnr batch file (columns differ); use {{overwrite}} or {{another_out}}"
            )
        held: list[str] | None = None  # one row behind: the last may be cut short
        try:
            for row in reader:
                if held is not None and len(held) == len(columns):
                    yield held
                held = row
        except csv.Error:  # an unclosed quote at the end: the row being written when it stopped
            ends_whole = True  # (the row held before it is whole)
        if held is not None and ends_whole and len(held) == len(columns):
            yield held
