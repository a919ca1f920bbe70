"""fpsnr.runs.lock: one writer per output."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from fpsnr.cli import cli
from fpsnr.errors import OutputError
from fpsnr.images.io import write_image
from fpsnr.runs.sink import CsvSink
from tests.conftest import one_line_error, rows


def test_a_second_writer_is_refused_while_the_first_holds_the_output(folders, tmp_path):
    """F7: two runs on one --out left a header-only CSV and both exited 0."""
    ref, test, opts = folders
    out = tmp_path / "s.csv"
    holder = CsvSink(out, ["a"], None, {})
    holder.prepare(resume=False, overwrite=True)
    try:
        for extra in ([], ["--overwrite"], ["--resume"]):
            res = CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out), *extra])
            line = one_line_error(res)
            assert "another fpsnr run" in line and "s.csv.lock" in line
        with pytest.raises(OutputError):
            CsvSink(out, ["a"], None, {}).prepare(resume=False, overwrite=True)
    finally:
        holder.close()
    assert not out.with_name("s.csv.lock").exists()
    assert CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out)]).exit_code == 0




def test_two_concurrent_batch_processes_never_lose_rows(folders, tmp_path):
    """F7 as it happened: two processes started at once on the same --out --overwrite."""
    ref, test, opts = folders
    for i in range(12):
        img = np.full((200, 300, 3), i * 9, np.uint8)
        write_image(ref / f"x{i}.png", img)
        write_image(test / f"x{i}.png", img)
    out = tmp_path / "s.csv"
    cmd = [sys.executable, "-m", "fpsnr", "batch", str(ref), str(test), *opts, "-o", str(out), "--overwrite"]
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    results = [(p.returncode, err) for p, err in zip(procs, errors, strict=True)]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 1])  # one after the other, or the second refused
    refused = [err for code, err in results if code == 1]
    assert all("another fpsnr run" in err for err in refused)
    assert len(rows(out)) == 15
