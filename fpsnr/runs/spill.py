"""Sorting more rows than memory should hold: sorted runs spilled to disk, then merged.

A batch output is sorted once, at the end, by label, reference and Fp. Reading every
row into memory for that made the main process grow with the run (about 1.7 KB a row:
a gigabyte at a few hundred thousand pairs). :func:`sorted_rows` keeps at most
``chunk`` rows in memory: each full chunk is sorted and written to a file of JSON lines
in a private temporary folder (JSON keeps every character, lone surrogates of
undecodable file names included), and the files are merged (:func:`heapq.merge`, which
keeps one row per file). Runs that fit in one chunk never touch the disk. More than
``fan_in`` chunk files are merged in rounds, so the number of open files stays bounded.
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
    pending: list[tuple[Any, int, str]] = []
    with tempfile.TemporaryDirectory(prefix=".fpsnr-sort-", dir=folder) as tmp:
        runs: list[Path] = []
        serial = 0  # the rows' original order: ties stay in it, as sorted() keeps them
        for row in rows:
            pending.append((key(row), serial, json.dumps(row)))
            serial += 1
            if len(pending) >= chunk:
                runs.append(_spill(pending, Path(tmp), len(runs)))
                pending = []
        if not runs:
            pending.sort(key=_first_two)
            for _, _, line in pending:
                yield json.loads(line)
            return
        if pending:
            runs.append(_spill(pending, Path(tmp), len(runs)))
            pending = []
        while len(runs) > fan_in:  # merge in rounds: never more than fan_in files open
            merged = []
            for start in range(0, len(runs), fan_in):
                group = runs[start : start + fan_in]
                target = Path(tmp) / f"merge-{len(runs)}-{start}.jsonl"
                with target.open("w", encoding="ascii") as handle:
                    for serial, line in _merge(group, key):
                        handle.write(f"{serial}\t{line}\n")
                for path in group:
                    path.unlink()
                merged.append(target)
            runs = merged
        for _, line in _merge(runs, key):
            yield json.loads(line)


def _first_two(entry: tuple[Any, int, str]) -> tuple[Any, int]:
    return entry[0], entry[1]


def _spill(pending: list[tuple[Any, int, str]], folder: Path, n: int) -> Path:
    pending.sort(key=_first_two)
    path = folder / f"run-{n:06d}.jsonl"
    with path.open("w", encoding="ascii") as handle:  # json.dumps escapes every non-ASCII character
        for _, serial, line in pending:
            handle.write(f"{serial}\t{line}\n")
    return path


def _merge(paths: list[Path], key: Callable[[Row], Any]) -> Iterator[tuple[int, str]]:
    """(serial, JSON row) of sorted run files, merged in (key, serial) order."""

    def entries(path: Path) -> Iterator[tuple[Any, int, str]]:
        with path.open(encoding="ascii") as handle:
            for text in handle:
                serial, line = text.rstrip("\n").split("\t", 1)
                yield key(json.loads(line)), int(serial), line

    for _, serial, line in heapq.merge(*(entries(p) for p in paths), key=_first_two):
        yield serial, line
