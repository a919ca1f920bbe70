"""Sorting more rows than memory should hold: sorted runs spilled to disk, then merged.

A batch output is sorted once, at the end, by label, reference and Fp. Reading every
row into memory for that made the main process grow with the run (about 1.7 KB a row:
a gigabyte at a few hundred thousand pairs). :func:`sorted_rows` keeps at most
``chunk`` rows in memory: each full chunk is sorted and written to a file of JSON lines
in a private temporary folder (JSON keeps every character, lone surrogates of
undecodable file names included), and the files are merged (:func:`heapq.merge`, which
keeps one row per file). Both sorts are stable, and equal rows of two files come out in
the files' order, so ties keep the order the rows came in, as :func:`sorted` keeps them.
Runs that fit in one chunk never touch the disk. More than ``fan_in`` chunk files are
merged in rounds, so the number of open files stays bounded.
"""

from __future__ import annotations

import heapq
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["sorted_rows"]

Row = list[str]

CHUNK = 8192
FAN_IN = 64


def sorted_rows(
    rows: Iterable[Row],
    key: Callable[[Row], Any],
    *,
    folder: Path,
    chunk: int = CHUNK,
    fan_in: int = FAN_IN,
) -> Iterator[Row]:
    """``sorted(rows, key=key)`` (stable) holding at most ``chunk`` rows in memory.

    Spill files go to a temporary folder made inside ``folder`` (the output's own, so
    they land on the same disk, under the same permissions) and are removed when the
    iterator is exhausted or closed.
    """
    pending: list[Row] = []
    with tempfile.TemporaryDirectory(prefix=".fpsnr-sort-", dir=folder) as tmp:
        runs: list[Path] = []
        for row in rows:
            pending.append(row)
            if len(pending) >= chunk:
                runs.append(_spill(sorted(pending, key=key), Path(tmp) / f"run-{len(runs):06d}.jsonl"))
                pending = []
        if not runs:
            yield from sorted(pending, key=key)
            return
        if pending:
            runs.append(_spill(sorted(pending, key=key), Path(tmp) / f"run-{len(runs):06d}.jsonl"))
        while len(runs) > fan_in:  # merge in rounds: never more than fan_in files open
            merged = []
            for start in range(0, len(runs), fan_in):
                group = runs[start : start + fan_in]
                merged.append(_spill(_merge(group, key), Path(tmp) / f"merge-{len(runs)}-{start}.jsonl"))
                for path in group:
                    path.unlink()
            runs = merged
        yield from _merge(runs, key)


def _spill(rows: Iterable[Row], path: Path) -> Path:
    with path.open("w", encoding="ascii") as handle:  # json.dumps escapes every non-ASCII character
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return path


def _merge(paths: list[Path], key: Callable[[Row], Any]) -> Iterator[Row]:
    """The rows of sorted run files, merged in key order (ties in the files' order)."""

    def rows(path: Path) -> Iterator[Row]:
        with path.open(encoding="ascii") as handle:
            for line in handle:
                yield json.loads(line)

    yield from heapq.merge(*(rows(p) for p in paths), key=key)
