"""Regression tests of the November 2026 hostile-input campaign (F1–F33, core part).

Each test names the findings it covers (``../shared/reliability/findings-2026-11.md``);
the codec's are in ``tests/codec/test_reliability_codec.py``. The promise under test:
bad input and faults give exit status 1 and one clear line — never a traceback, a
hang, unbounded memory or a lost row.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fpsnr
import fpsnr.images.io
from fpsnr.cli import cli
from fpsnr.errors import ImageReadError, OutputError, ParameterError, RegionsError
from fpsnr.images.io import find_images, read_image, write_image
from fpsnr.rd.rdfile import read_rd_csv
from fpsnr.regions.discs import disc_has_pixel, disc_mask
from fpsnr.regions.model import Disc
from fpsnr.regions.regionfile import load_regions, parse_regions
from fpsnr.runs.parallel import LOST, map_local
from fpsnr.runs.sink import CsvSink
from tests.conftest import three_pairs

REGIONS_1 = '{"width": %d, "height": %d, "regions": [{"center": [%g, %g], "radius": %g}]}'


def png_claiming(width: int, height: int, *, bit_depth: int = 8, colour: int = 2) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` (its pixel data is cut short)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def one_line_error(result, code: int = 1) -> str:
    """The result failed with ``code`` and exactly one line on stderr, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    progress = re.compile(r"^\w+: \d+/\d+ \w+ \(\d+ %\)")  # a log's progress lines are not errors
    lines = [line for line in result.stderr.strip("\n").splitlines() if not progress.match(line)]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def pair(tmp_path, rng):
    ref = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    write_image(tmp_path / "ref.png", ref)
    write_image(tmp_path / "test.png", ref // 2 * 2)
    (tmp_path / "r.json").write_text(REGIONS_1 % (64, 48, 30, 20, 10))
    return tmp_path / "ref.png", tmp_path / "test.png", tmp_path / "r.json"


@pytest.fixture
def folders(tmp_path, rng):
    ref, test = three_pairs(tmp_path, rng)
    return ref, test, ["--missing-regions", "center", "--regions", "kodak", "-j", "1"]


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8", errors="surrogateescape") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------- images: F1, F2, F3


def test_an_image_claiming_too_many_pixels_is_refused_from_its_header(tmp_path, monkeypatch):
    """F1, F2: no decoder runs, whatever the header claims; one line names the limit and the fix."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(100_000, 100_000))
    decoded = []
    monkeypatch.setattr(fpsnr.images.io.cv2, "imdecode", lambda *a: decoded.append(a))
    with pytest.raises(
        ImageReadError, match=r"100000×100000 = 10,000,000,000 pixels, more than the limit"
    ) as err:
        read_image(bomb)
    assert "raise the limit with FPSNR_MAX_PIXELS=10000000000" in str(err.value) and decoded == []
    bomb16 = tmp_path / "bomb16.png"  # 32768² 16-bit RGBA cost 8.4 GB and a traceback before
    bomb16.write_bytes(png_claiming(32768, 32768, bit_depth=16, colour=6))
    with pytest.raises(ImageReadError, match="more than the limit"):
        read_image(bomb16)
    assert decoded == []


def test_the_pixel_budget_is_an_option_and_an_environment_variable(pair, monkeypatch):
    ref, test, regions = pair
    monkeypatch.setenv("FPSNR_MAX_PIXELS", "")  # the CLI option sets it: restored after the test
    runner = CliRunner()
    line = one_line_error(runner.invoke(cli, ["--max-pixels", "1000", "score", str(ref), str(test),
                                              "--regions", str(regions)]))  # fmt: skip
    assert "64×48 = 3,072 pixels, more than the limit of 1,000" in line and "--max-pixels 3072" in line
    monkeypatch.setenv("FPSNR_MAX_PIXELS", "3072")  # exactly enough
    assert runner.invoke(cli, ["score", str(ref), str(test), "--regions", str(regions)]).exit_code == 0
    monkeypatch.setenv("FPSNR_MAX_PIXELS", "lots")
    assert "FPSNR_MAX_PIXELS='lots'" in one_line_error(
        runner.invoke(cli, ["score", str(ref), str(test), "--regions", str(regions)])
    )


def test_a_size_mismatch_is_found_from_the_headers_before_decoding(tmp_path, monkeypatch):
    """F2: the shape check needs only the headers; a huge test image is never decoded."""
    write_image(tmp_path / "ref.png", np.zeros((48, 64, 3), np.uint8))
    (tmp_path / "big.png").write_bytes(png_claiming(20000, 15000))
    calls = []
    real = fpsnr.images.io.cv2.imdecode
    monkeypatch.setattr(fpsnr.images.io.cv2, "imdecode", lambda *a: calls.append(1) or real(*a))
    with pytest.raises(fpsnr.ImageError, match="test image is 20000×15000 pixels; the reference is 64×48"):
        fpsnr.images.io.read_pair(tmp_path / "ref.png", tmp_path / "big.png")
    assert calls == []


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float64])
def test_tiff_of_any_dtype_is_read_and_refused_in_one_line(tmp_path, dtype, folders):
    """F3: cvtColor refused these depths with a traceback; now the metric says what it takes."""
    img = (np.arange(32 * 40 * 3).reshape(32, 40, 3) % 200).astype(dtype)
    path = tmp_path / "odd.tiff"
    assert cv2.imwrite(str(path), img[:, :, ::-1])
    read = read_image(path)
    assert read.dtype == dtype and np.array_equal(read, img)  # RGB order kept, any dtype
    (tmp_path / "odd.json").write_text(REGIONS_1 % (40, 32, 20, 16, 8))
    line = one_line_error(CliRunner().invoke(cli, ["score", str(path), str(path), "--regions",
                                                   str(tmp_path / "odd.json")]))  # fmt: skip
    assert ("unsupported image dtype" in line) if dtype != np.float64 else ("--data-range" in line)
    ref, test, opts = folders
    cv2.imwrite(str(ref / "d.tiff"), img)
    cv2.imwrite(str(test / "d.tiff"), img)
    out = tmp_path / "s.csv"
    CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out)])
    error = next(r["error"] for r in rows(out) if r["ref"].endswith("d.tiff"))
    assert error and "\n" not in error and len(error) < 200


# --------------------------------------------------------------------------- regions: F4–F6, F26–F28


@pytest.mark.parametrize(
    "doc",
    [
        {"width": 768, "height": 512, "regions": [{"center": [1e200, 0], "radius": 1},
                                                   {"center": [-1e200, 0], "radius": 1}]},  # F4
        {"width": 768, "height": 512, "regions": [{"center": [1e300, 1e300], "radius": 1e300}]},  # F5
        {"width": 768, "height": 512, "regions": [{"center": [1e12, 10]}]},  # F27
    ],
)  # fmt: skip
def test_far_away_regions_are_one_line_errors_everywhere(pair, doc, tmp_path):
    ref, test, _ = pair
    path = tmp_path / "far.json"
    path.write_text(json.dumps(doc))
    runner = CliRunner()
    for args in (["score", str(ref), str(test), "--regions", str(path), "--fp", "0"],
                 ["regions", "show", str(ref), str(path), "-o", str(tmp_path / "o.png")]):  # fmt: skip
        assert "beyond the limit of 16,777,216 pixels" in one_line_error(runner.invoke(cli, args))
    res = runner.invoke(cli, ["regions", "check", str(path)])
    assert res.exit_code == 1 and "Traceback" not in res.output and "beyond the limit" in res.stderr


def test_a_region_at_the_coordinate_limit_is_drawn(pair, tmp_path):
    """F27: cv2.circle takes every centre the validation lets through."""
    ref, _, _ = pair
    path = tmp_path / "edge.json"
    path.write_text(REGIONS_1 % (64, 48, -(2**24), 2**24, 2**24))
    res = CliRunner().invoke(cli, ["regions", "show", str(ref), str(path), "-o", str(tmp_path / "o.png")])
    assert res.exit_code == 0, res.output


def test_ambiguous_regions_files_are_refused(tmp_path):
    """F6: a key given twice; one image listed twice under two extensions."""
    twice = tmp_path / "twice.json"
    twice.write_text(
        '{"width":768,"height":512,"regions":[{"center":[182,240]}],"regions":[{"center":[1,2]}]}'
    )
    with pytest.raises(RegionsError, match="key 'regions' appears twice"):
        load_regions(twice)
    both = {"images": [{"image": "kodim23.png", "width": 8, "height": 8, "regions": [{"center": [1, 1]}]},
                       {"image": "kodim23.jpg", "width": 8, "height": 8,
                        "regions": [{"center": [5, 5]}]}]}  # fmt: skip
    with pytest.raises(RegionsError, match="are the same image to fpsnr"):
        parse_regions(both)


def test_checking_a_huge_recorded_frame_costs_nothing(tmp_path):
    """F26: 141 GiB were allocated to learn whether a disc holds a pixel."""
    path = tmp_path / "big.json"
    path.write_text(
        '{"width":1048576,"height":1048576,"regions":[{"center":[1,1]},{"center":[1,1],"radius":3}]}'
    )
    start = time.perf_counter()
    res = CliRunner().invoke(cli, ["regions", "check", str(path)])
    assert res.exit_code == 0 and "2 region(s)" in res.stdout
    assert time.perf_counter() - start < 5


@settings(max_examples=300, deadline=None)
@given(
    x=st.floats(-60, 60), y=st.floats(-60, 60), r=st.floats(0.01, 40),
    h=st.integers(1, 24), w=st.integers(1, 24),
)  # fmt: skip
def test_disc_has_pixel_agrees_with_the_mask(x, y, r, h, w):
    expected = bool(disc_mask((h, w), (x, y), r).any())
    assert disc_has_pixel(Disc(x, y, r, ""), h, w) == expected


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_device_files_are_read_with_a_bound(pair, monkeypatch):
    """F28: st_size is 0 for devices; the reads are counted instead."""
    ref, test, _ = pair
    line = one_line_error(CliRunner().invoke(cli, ["score", str(ref), str(test), "--regions", "/dev/zero"]))
    assert "larger than the 67108864-byte limit" in line
    monkeypatch.setenv("FPSNR_MAX_PIXELS", "1000")  # an image read is bounded by the pixel budget
    with pytest.raises(ImageReadError, match="larger than any image within the pixel limit"):
        read_image("/dev/zero")


# ------------------------------------------------------------- batch outputs: F7, F9–F13, F17, F19


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
        if path.name == "s.csv.tmp":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path)

    monkeypatch.setattr(fpsnr.files, "_sync", full)
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out)]))
    assert "No space left on device" in line and "--resume" in line
    assert sorted(p.name for p in tmp_path.glob("s.csv*")) == ["s.csv.partial", "s.csv.settings"]
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


def test_a_repeated_fp_is_refused_up_front(folders, tmp_path):
    """F19: --fp 0.5,0.5 wrote 480 rows, and 464 after a resume."""
    ref, test, opts = folders
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "--fp", "0.5,0.5",
                                                   "-o", str(tmp_path / "s.csv")]))  # fmt: skip
    assert "Fp 0.5 is given twice" in line
    with pytest.raises(ParameterError, match="given twice"):
        fpsnr.ScoreOptions(fps=(0.0, 0.3, 0.0))


# --------------------------------------------------------------------------- folders: F16, F18


def test_linked_folders_are_followed_and_unlistable_ones_refused(tmp_path, monkeypatch):
    """F16: a symlinked subfolder was skipped silently, an unreadable one with a wrong warning."""
    root, elsewhere = tmp_path / "ref", tmp_path / "elsewhere"
    (root / "plain").mkdir(parents=True)
    elsewhere.mkdir()
    write_image(root / "plain" / "a.png", np.zeros((4, 4), np.uint8))
    write_image(elsewhere / "b.png", np.zeros((4, 4), np.uint8))
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(root, target_is_directory=True)  # a loop must end
    found = find_images(root)
    assert sorted(found) == ["linked/b", "plain/a"]
    real = os.scandir

    def locked(path):
        if Path(path).name == "plain":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", locked)
    with pytest.raises(ImageReadError, match=r"plain: cannot list this folder \(Permission denied\)"):
        find_images(root)


def test_a_malformed_scheduler_address_is_one_line_at_once(folders, tmp_path):
    """F18: 'not a url' waited 21 s and ended in two tracebacks."""
    pytest.importorskip("distributed")
    ref, test, opts = folders
    start = time.perf_counter()
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "--scheduler",
                                                   "not a url", "-o", str(tmp_path / "s.csv")]))  # fmt: skip
    assert "not a scheduler address" in line and time.perf_counter() - start < 5
    assert not list(tmp_path.glob("s.csv*"))


# --------------------------------------------------------------------------- workers: F14, F15, F31


def test_a_task_that_kills_its_worker_becomes_its_own_error(tmp_path):
    """F14: a dead worker aborted the batch with BrokenProcessPool; now only its task fails."""
    from tests import workers

    results = sorted(
        map_local(workers.die_on_three, list(range(8)), None, 2, preload=(), on_lost=lambda t, why: (t, why)),
        key=lambda r: r[0],
    )
    assert results == [(t, t * 2) if t != 3 else (3, LOST) for t in range(8)]


def _process_alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
@pytest.mark.parametrize("how", ["kill", "sigint"])
def test_workers_end_with_their_parent_and_print_nothing(tmp_path, how):
    """F15: after kill -9 of the parent, workers lived on for an hour.

    F31: a worker's traceback followed the one-line message after Ctrl-C.
    """
    script = textwrap.dedent(
        f"""
        import sys
        from fpsnr.runs.parallel import map_local
        from tests import workers
        if __name__ == "__main__":
            for _ in map_local(workers.record_and_sleep, [{str(tmp_path)!r}] * 4, None, 2, preload=()):
                pass
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    pids = [int(p.stem) for p in tmp_path.glob("*.pid")]
    assert len(pids) >= 2 and all(_process_alive(pid) for pid in pids)
    proc.send_signal(signal.SIGKILL if how == "kill" else signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while any(_process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_process_alive(pid) for pid in pids)
    if how == "sigint":
        assert err.count("Traceback") == 1 and "KeyboardInterrupt" in err  # the parent's own, only


# --------------------------------------------------------------------------- RD files and paths: F29, F30


@pytest.mark.parametrize(("cell", "column"), [("abc", "bpp"), ("nan", "psnr"), ("-1", "bpp"), ("x", "psnr")])
def test_bad_rd_cells_are_named_by_line_and_column(tmp_path, cell, column):
    """F29: 'abc' or 'nan' in bpp/psnr gave TypeErrors in bdrate and both plots."""
    good = {"bpp": "0.5", "psnr": "30"}
    good[column] = cell
    path = tmp_path / "rd.csv"
    path.write_text(
        f"codec,rate_point,image,bpp,psnr,error\nj,1,a.png,0.4,29,\nj,2,a.png,{good['bpp']},{good['psnr']},\n"
    )
    runner = CliRunner()
    for args in (["bdrate", str(path), "--anchor", "j", "--test", "j"],
                 ["plot", "rd", str(path), "-o", str(tmp_path / "p.png")],
                 ["ratio", str(path), "--codec", "j"]):  # fmt: skip
        line = one_line_error(runner.invoke(cli, args))
        assert f"line 3, column {column}: {cell!r}" in line


def test_a_figure_format_matplotlib_cannot_write_is_refused_first(tmp_path):
    path = tmp_path / "rd.csv"
    path.write_text("codec,rate_point,image,bpp,psnr,error\nj,1,a.png,0.4,29,\nj,2,a.png,0.6,31,\n")
    line = one_line_error(CliRunner().invoke(cli, ["plot", "rd", str(path), "-o", str(tmp_path / "p.xyz")]))
    assert "cannot write a figure as 'xyz'" in line and "png" in line


def _all_commands(group, prefix=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _all_commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_no_path_argument_leaves_readability_to_click():
    """F30: click's readability check made an unreadable file exit 2 with a usage block."""
    import click

    checked = [(name, p.name) for name, command in _all_commands(cli) for p in command.params
               if isinstance(p.type, click.Path) and (p.type.readable or p.type.exists)]  # fmt: skip
    assert checked == []


# --------------------------------------------------------------------------- fuzz


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(
            ["width", "height", "regions", "center", "radius", "label", "image", "images", "note", "x"]
        ),
        children, max_size=5,
    ),
    max_leaves=25,
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_json)
def test_any_json_document_is_regions_or_one_regions_error(document):
    try:
        parsed = parse_regions(document, source="fuzz.json")
    except RegionsError as err:
        assert "\n" not in str(err) and str(err).startswith("fuzz.json: ")
    else:
        for entry in parsed:
            assert entry.regions and 1 <= entry.width and 1 <= entry.height


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.text(max_size=8), min_size=4, max_size=4))
def test_any_rd_cells_read_as_numbers_or_one_error(tmp_path_factory, cells):
    path = tmp_path_factory.mktemp("rd") / "rd.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["codec", "rate_point", "image", "bpp", "psnr", "error"])
        writer.writerow(["j", "1", "a.png", cells[0], cells[1], ""])
        writer.writerow(["j", "2", "a.png", cells[2], cells[3], "failed"])
    try:
        frame = read_rd_csv(path)
    except ParameterError as err:
        assert "\n" not in str(err)
    else:
        assert frame["bpp"].dtype.kind in "iuf" and frame["psnr"].dtype.kind in "iuf"
        assert np.isfinite(frame["bpp"].iloc[0]) and frame["bpp"].iloc[0] >= 0
