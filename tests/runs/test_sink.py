"""fpsnr.runs.sink: crash-safe output, resume, damaged partial files, full disks, file names."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import fpsnr
import fpsnr.images.io
from fpsnr.cli import cli
from fpsnr.images.io import write_image
from fpsnr.runs.sink import CsvSink
from tests.conftest import one_line_error, rows


def test_a_resumed_run_stopped_before_its_first_new_row_keeps_the_carried_rows(tmp_path):
    """The partial file is removed on a refusal only when it holds no rows at all (CsvSink.abandon)."""

    out = tmp_path / "s.csv"
    for carried, kept in (([], False), ([{"a": "1", "b": "x"}], True)):
        sink = CsvSink(out, ["a", "b"], None, {"k": 1})
        sink.prepare(resume=False, overwrite=True)
        sink.start(carried)
        sink.abandon()
        assert sink.partial.exists() is kept
    with open(out.with_name("s.csv.partial"), newline="") as handle:
        assert list(csv.DictReader(handle)) == [{"a": "1", "b": "x"}]




def test_names_that_are_not_utf8_are_written_and_read_back_byte_for_byte(folders, tmp_path):
    """F9: a file name with byte 0xff aborted the batch with a UnicodeEncodeError."""
    ref, test, opts = folders
    name = os.fsdecode(b"b\xff.png")
    write_image(ref / name, np.zeros((40, 56, 3), np.uint8))
    write_image(test / name, np.ones((40, 56, 3), np.uint8))
    out = tmp_path / "s.csv"
    res = CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert os.fsencode(str(ref / name)) in out.read_bytes()
    assert any(r["ref"] == str(ref / name) for r in rows(out))
    before = out.read_bytes()
    again = CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out), "--resume"])
    assert again.exit_code == 0 and "resuming: 4 pair(s) already scored" in again.stderr
    assert out.read_bytes() == before




def test_resuming_a_finished_run_checks_its_settings(folders, tmp_path):
    """F10: --resume of a finished output kept the old numbers under new settings."""
    ref, test, opts = folders
    out = tmp_path / "s.csv"
    base = ["batch", str(ref), str(test), *opts, "-o", str(out)]
    assert CliRunner().invoke(cli, base).exit_code == 0
    before = out.read_bytes()
    line = one_line_error(CliRunner().invoke(cli, [*base, "--resume", "--channel", "y", "--max-db", "20"]))
    assert "the finished run used other settings (options)" in line and "--overwrite" in line
    other = tmp_path / "other"
    other.mkdir()
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(ref), str(other), "--label", "test", *opts,
                                                   "-o", str(out), "--resume"]))  # fmt: skip
    assert "other settings (labels, test_dirs)" in line
    assert out.read_bytes() == before
    same = CliRunner().invoke(cli, [*base, "--resume"])
    assert same.exit_code == 0 and out.read_bytes() == before




@pytest.mark.parametrize("damage", [lambda t: t[:20], lambda t: "", lambda t: "[1,2]", lambda t: '{"a": 1}'])
def test_damaged_resume_state_is_one_line(folders, tmp_path, damage):
    """F11: truncated, empty or foreign settings gave tracebacks."""
    ref, test, opts = folders
    out = tmp_path / "s.csv"
    base = ["batch", str(ref), str(test), *opts, "-o", str(out)]
    assert CliRunner().invoke(cli, base).exit_code == 0
    state = out.with_name("s.csv.settings")
    state.write_text(damage(state.read_text()))
    line = one_line_error(CliRunner().invoke(cli, [*base, "--resume"]))
    assert str(state) in line and "--overwrite" in line




@pytest.mark.timeout(60)
@pytest.mark.parametrize("which", ["s.csv.settings", "s.csv", "s.csv.partial"])
def test_a_pipe_or_device_in_place_of_a_run_file_is_refused_on_resume(folders, tmp_path, which):
    """Reliability G22: a FIFO there made --resume hang, a link to /dev/zero filled memory."""
    ref, test, opts = folders
    out = tmp_path / "s.csv"
    base = ["batch", str(ref), str(test), *opts, "-o", str(out)]
    assert CliRunner().invoke(cli, base).exit_code == 0
    (tmp_path / which).unlink(missing_ok=True)
    if which == "s.csv.partial":  # a run stopped half way: the partial file and no output
        out.unlink()
    os.mkfifo(tmp_path / which)
    line = one_line_error(CliRunner().invoke(cli, [*base, "--resume"]))
    assert f"{which}: is a pipe (FIFO), expected an fpsnr" in line
    if os.path.exists("/dev/zero"):
        (tmp_path / which).unlink()
        (tmp_path / which).symlink_to("/dev/zero")
        line = one_line_error(CliRunner().invoke(cli, [*base, "--resume"]))
        assert f"{which}: is a symbolic link (to /dev/zero)" in line


def test_garbage_in_the_partial_file_is_redone_not_trusted(folders, tmp_path, monkeypatch):
    """F11: a row of 'abc' numbers went into the final CSV; undecodable bytes gave a traceback."""
    ref, test, opts = folders
    clean = tmp_path / "clean.csv"
    assert CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(clean)]).exit_code == 0
    out = tmp_path / "s.csv"
    real = fpsnr.runs.batch.run_pair
    calls: list[str] = []

    def interrupted(task, options):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(task.ref)
        return real(task, options)

    monkeypatch.setattr(fpsnr.runs.batch, "run_pair", interrupted)
    assert CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out)]).exit_code == 130
    monkeypatch.setattr(fpsnr.runs.batch, "run_pair", real)
    partial = out.with_name("s.csv.partial")
    lines = partial.read_bytes().splitlines(keepends=True)
    first = lines[1].decode().split(",")
    first[7:11] = ["abc"] * 4  # psnr, mean_fpsnr, periphery_psnr, m_fpsnr
    partial.write_bytes(lines[0] + ",".join(first).encode() + b"".join(lines[2:]) + b"\xff\xfe")
    res = CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out), "--resume"])
    assert res.exit_code == 0, res.output
    assert "1 damaged row(s) of the earlier output are redone" in res.stderr
    assert "resuming: 1 pair(s) already scored" in res.stderr
    assert out.read_bytes() == clean.read_bytes()




def test_unwritable_outputs_are_one_line_and_leave_nothing(folders, tmp_path):
    """F12: outputs under a file, or a --regions-out that cannot be written."""
    ref, test, opts = folders
    (tmp_path / "afile").write_text("x")
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts,
                                                   "-o", str(tmp_path / "afile" / "s.csv")]))  # fmt: skip
    assert "afile" in line and "choose another --out" in line
    out = tmp_path / "s.csv"
    regions_out = str(tmp_path / "afile" / "r.csv")
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out),
                                                   "--regions-out", regions_out]))  # fmt: skip
    assert "afile" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "ref", "test"]  # no partial of --out




def _run_with_file_size_limit(args: list[str], limit: int) -> subprocess.CompletedProcess[str]:
    import resource

    def limit_writes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "fpsnr", *args], capture_output=True, text=True,
                          preexec_fn=limit_writes, timeout=120, check=False)  # fmt: skip




@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs POSIX file-size limits")
def test_a_full_disk_is_one_line_and_resume_finishes_the_job(folders, tmp_path):
    """F13: ENOSPC gave chained tracebacks and a stray .tmp; writes past RLIMIT_FSIZE fail alike."""
    ref, test, opts = folders
    for i in range(40):
        write_image(ref / f"n{i:02d}.png", np.full((24, 32, 3), i, np.uint8))
        write_image(test / f"n{i:02d}.png", np.full((24, 32, 3), i + 1, np.uint8))
    clean = tmp_path / "clean.csv"
    base = ["batch", str(ref), str(test), *opts]
    assert CliRunner().invoke(cli, [*base, "-o", str(clean)]).exit_code == 0
    out = tmp_path / "s.csv"
    res = _run_with_file_size_limit([*base, "-o", str(out)], 3000)  # the partial file outgrows it
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "--resume" in last and "File too large" in last
    again = CliRunner().invoke(cli, [*base, "-o", str(out), "--resume"])
    assert again.exit_code == 0, again.output
    assert out.read_bytes() == clean.read_bytes()




def test_a_full_disk_while_finishing_keeps_the_partial_and_leaves_no_tmp(folders, tmp_path, monkeypatch):
    """F13: a failure in finish() left s.csv.tmp on the full disk, with a traceback."""
    import errno

    import fpsnr.files

    ref, test, opts = folders
    out = tmp_path / "s.csv"
    real = fpsnr.files._sync

    def full(path):
        if path.name == "s.csv" and path.parent.name.endswith(".tmp"):  # the final file, being written
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path)

    monkeypatch.setattr(fpsnr.files, "_sync", full)
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out)]))
    assert "No space left on device" in line and "--resume" in line
    assert sorted(p.name for p in tmp_path.glob("s.csv*")) == ["s.csv.partial", "s.csv.settings"]
    assert list(tmp_path.glob(".s.csv*")) == []  # nor the private folder it was written in
    monkeypatch.setattr(fpsnr.files, "_sync", real)
    again = CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out), "--resume"])
    assert again.exit_code == 0 and "resuming: 3 pair(s) already scored" in again.stderr




def test_a_refused_run_leaves_no_partial_files(folders, tmp_path):
    """F17: the leftovers of a refused run blocked the corrected command."""
    ref, test, opts = folders
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "rf.csv"
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(empty), str(test), *opts, "-o", str(out)]))
    assert "no images found" in line
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out),
                                                   "--label", "a", "--label", "b"]))  # fmt: skip
    assert "label" in line
    assert not list(tmp_path.glob("rf.csv*"))
    assert CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out)]).exit_code == 0


def test_a_name_too_long_for_the_files_beside_it_is_refused_naming_the_room_left(folders, tmp_path):
    """G27: a legal 250-byte name failed as '….partial: File name too long'; 246 bytes fit."""
    ref, test, opts = folders
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    room = limit - len(".settings")
    too_long = tmp_path / ("a" * (room - 3) + "x.csv")
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(too_long)]))
    assert f"a name of {room + 2} bytes;" in line and f"give a name of at most {room} bytes" in line
    assert not list(tmp_path.glob("a*"))
    fits = tmp_path / ("a" * (room - 4) + ".csv")
    res = CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(fits)])
    assert res.exit_code == 0 and len(rows(fits)) > 0
