"""Sorting through spill files gives exactly ``sorted()``, with bounded memory and open files."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fpsnr.runs.spill import sorted_rows


def _key(row: list[str]) -> tuple[str, float]:
    return row[0], float(row[1])


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "é", "\udcff", "x\ny"]), st.integers(-3, 3), st.text(max_size=4)
        ),
        max_size=60,
    ),
    chunk=st.integers(1, 9),
    fan_in=st.integers(2, 4),
)
def test_sorted_rows_is_a_stable_sort_whatever_the_chunk_and_fan_in(tmp_path_factory, rows, chunk, fan_in):
    folder = tmp_path_factory.mktemp("sort")
    cells = [[label, str(n), text] for label, n, text in rows]
    got = list(sorted_rows(iter(cells), _key, folder=folder, chunk=chunk, fan_in=fan_in))
    assert got == sorted(cells, key=_key)  # sorted() is stable: ties keep their order
    assert list(folder.iterdir()) == []  # the spill folder is gone


def test_spilled_rows_never_exceed_one_chunk_in_memory(tmp_path: Path, monkeypatch):
    """With 1,000 rows and chunks of 50, rows are consumed lazily: the input is read
    chunk by chunk as the sort spills, not all at once before the first file is written."""
    random.seed(3)
    cells = [[random.choice("abc"), str(random.random()), str(i)] for i in range(1000)]
    spilled: list[int] = []
    import fpsnr.runs.spill as spill

    real = spill._spill

    def counting(rows, path):
        rows = list(rows)
        if path.name.startswith("run-"):
            spilled.append(len(rows))
        return real(rows, path)

    monkeypatch.setattr(spill, "_spill", counting)
    got = list(sorted_rows(iter(cells), _key, folder=tmp_path, chunk=50, fan_in=8))
    assert got == sorted(cells, key=_key)
    assert spilled == [50] * 20  # 20 runs, merged in rounds of 8 (20 → 3 → 1)
