"""``fpsnr batch``: outputs, exit status, crash safety and resume."""

from __future__ import annotations

import csv
import io
import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import fpsnr
import fpsnr.images.io
import fpsnr.runs.batch
from fpsnr.cli import cli
from fpsnr.errors import ParameterError
from fpsnr.images.io import write_image
from fpsnr.regions.shipped import kodak_regions
from tests.conftest import (
    REGIONS_1,
    one_line_error,
    three_pairs,
)


@pytest.fixture
def folders(tmp_path, rng):
    ref, test, regions = tmp_path / "ref", tmp_path / "jpeg", tmp_path / "regions"
    for d in (ref, test, regions):
        d.mkdir()
    for i in range(6):
        yy, xx = np.mgrid[0:40, 0:56]
        img = np.clip(
            np.stack([xx * 4, yy * 5, xx + yy + i * 20], axis=2) + rng.integers(0, 30, (40, 56, 3)), 0, 255
        )
        write_image(ref / f"img{i}.png", img.astype(np.uint8))
        write_image(test / f"img{i}.jpg", img.astype(np.uint8), quality=30)
        doc = {
            "width": 56,
            "height": 40,
            "regions": [{"label": "x", "center": [15, 15], "radius": 8}, {"center": [40, 25]}],
        }
        (regions / f"img{i}.json").write_text(json.dumps(doc))
    return ref, test, regions


def rows(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_batch_writes_scores_and_regions_matching_fpsnr_score(runner, folders, tmp_path):
    ref, test, regions = folders
    out, per_region = tmp_path / "scores.csv", tmp_path / "regions.csv"
    args = ["batch", str(ref), str(test), "--regions", str(regions), "--out", str(out), "--fp", "0,0.5"]
    res = runner.invoke(cli, [*args, "--regions-out", str(per_region), "--workers", "2"])
    assert res.exit_code == 0, res.output
    got = rows(out)
    assert len(got) == 12 and list(got[0]) == list(fpsnr.runs.batch.SCORE_COLUMNS)
    assert [r["fp"] for r in got[:2]] == ["0.0", "0.5"]
    assert "pairs/s" in res.stderr and "\r" not in res.stderr  # progress lines, not bar redraws
    single = runner.invoke(
        cli, ["score", str(ref / "img3.png"), str(test / "img3.jpg"), "--regions", str(regions / "img3.json"),
              "--fp", "0,0.5", "--format", "csv"],
    )  # fmt: skip
    expected = list(csv.DictReader(io.StringIO(single.stdout)))
    mine = [r for r in got if r["ref"].endswith("img3.png")]
    for a, b in zip(mine, expected, strict=True):
        for key in ("psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr"):
            assert a[key] == b[key]  # the same text: bit-identical numbers
    reg = rows(per_region)
    assert len(reg) == 12 and list(reg[0]) == list(fpsnr.runs.batch.REGION_COLUMNS)
    assert reg[0]["region_label"] == "x" and reg[1]["region_label"] == "region-2"


def test_failed_pairs_are_rows_and_exit_status_1(runner, folders, tmp_path):
    ref, test, regions = folders
    (test / "img2.jpg").write_bytes(b"garbage")
    (test / "img4.jpg").unlink()
    out = tmp_path / "s.csv"
    res = runner.invoke(
        cli, ["batch", str(ref), str(test), "--regions", str(regions), "--out", str(out), "-j", "1"]
    )
    assert res.exit_code == 1
    assert "2 pair(s) failed; see the error column" in res.stderr
    got = rows(out)
    assert len(got) == 6
    errs = {r["ref"].rsplit("/", 1)[-1]: r["error"] for r in got}
    assert "cannot decode" in errs["img2.png"] and "no test image img4.*" in errs["img4.png"]
    assert errs["img0.png"] == ""


def test_existing_output_is_refused_without_overwrite(runner, folders, tmp_path):
    ref, test, regions = folders
    out = tmp_path / "s.csv"
    out.write_text("precious\n")
    args = ["batch", str(ref), str(test), "--regions", str(regions), "--out", str(out), "-j", "1"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 1 and "exists; use --overwrite" in res.stderr
    assert out.read_text() == "precious\n"
    assert runner.invoke(cli, [*args, "--overwrite"]).exit_code == 0
    assert len(rows(out)) == 6


def test_resume_after_a_crash_redoes_nothing_and_loses_nothing(runner, folders, tmp_path, monkeypatch):
    ref, test, regions = folders
    clean = tmp_path / "clean.csv"
    base = ["batch", str(ref), str(test), "--regions", str(regions), "-j", "1", "--fp", "0,0.5"]
    assert runner.invoke(cli, [*base, "--out", str(clean)]).exit_code == 0

    real = fpsnr.runs.batch.run_pair
    calls: list[str] = []

    def crashing(task, options):
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if Ctrl-C arrived while scoring the 4th pair
        calls.append(task.ref)
        return real(task, options)

    out = tmp_path / "s.csv"
    monkeypatch.setattr(fpsnr.runs.batch, "run_pair", crashing)
    res = runner.invoke(cli, [*base, "--out", str(out)])
    assert res.exit_code == 130 and "--resume" in res.stderr
    assert not out.exists()  # never a half-written output
    partial = out.with_name("s.csv.partial")
    assert len(rows(partial)) == 6  # 3 pairs × 2 Fp, each flushed as it finished
    with partial.open("a") as handle:  # and a kill -9 in the middle of a line
        handle.write("jpeg,/half/written.png,/x.jpg,56,40,2,0.0,31.2")

    monkeypatch.setattr(
        fpsnr.runs.batch, "run_pair", lambda task, options: (calls.append(task.ref), real(task, options))[1]
    )
    calls.clear()
    again = runner.invoke(cli, [*base, "--out", str(out)])
    assert again.exit_code == 1 and "--resume to finish it" in again.stderr
    res = runner.invoke(cli, [*base, "--out", str(out), "--resume"])
    assert res.exit_code == 0, res.output
    assert "resuming: 3 pair(s) already scored" in res.stderr
    assert len(calls) == 3  # only the unfinished pairs
    assert out.read_text() == clean.read_text()  # nothing lost, nothing duplicated
    assert not partial.exists()


def test_resume_with_other_settings_is_refused(runner, folders, tmp_path, monkeypatch):
    ref, test, regions = folders
    out = tmp_path / "s.csv"
    real = fpsnr.runs.batch.run_pair

    def crash(task, options):
        raise KeyboardInterrupt

    monkeypatch.setattr(fpsnr.runs.batch, "run_pair", crash)
    base = ["batch", str(ref), str(test), "--regions", str(regions), "-j", "1", "--out", str(out)]
    assert runner.invoke(cli, base).exit_code == 130
    monkeypatch.setattr(fpsnr.runs.batch, "run_pair", real)
    res = runner.invoke(cli, [*base, "--resume", "--channel", "y"])
    assert res.exit_code == 1 and "used other settings (options)" in res.stderr


def test_resume_of_a_finished_run_adds_new_pairs_only(runner, folders, tmp_path, rng):
    ref, test, regions = folders
    out = tmp_path / "s.csv"
    base = ["batch", str(ref), str(test), "--regions", str(regions), "-j", "1", "--out", str(out)]
    assert runner.invoke(cli, base).exit_code == 0
    write_image(ref / "img9.png", fpsnr.read_image(ref / "img0.png"))
    write_image(test / "img9.png", fpsnr.read_image(ref / "img0.png"))
    (regions / "img9.json").write_text((regions / "img0.json").read_text())
    res = runner.invoke(cli, [*base, "--resume"])
    assert res.exit_code == 0 and "resuming: 6 pair(s)" in res.stderr
    got = rows(out)
    assert len(got) == 7 and got[-1]["m_fpsnr"] == "inf"


def test_unmatched_test_files_warn(runner, folders, tmp_path):
    ref, test, regions = folders
    (test / "extra.jpg").write_bytes((test / "img0.jpg").read_bytes())
    res = runner.invoke(
        cli, ["batch", str(ref), str(test), "--regions", str(regions), "-o", str(tmp_path / "s.csv")]
    )
    assert res.exit_code == 0
    assert "warning: " in res.stderr and "extra.jpg: no reference image extra.*" in res.stderr


def test_usage_errors(runner, folders, tmp_path):
    ref, test, regions = folders
    out = tmp_path / "x.csv"
    res = runner.invoke(
        cli, ["batch", str(ref), str(tmp_path / "nope"), "--regions", str(regions), "-o", str(out)]
    )
    # a missing folder is bad input, not bad usage: exit 1, one line, nothing left behind (F17, F30)
    assert res.exit_code == 1 and res.stderr == f"Error: {tmp_path / 'nope'}: no such folder\n"
    assert not list(tmp_path.glob("x.csv*"))
    res = runner.invoke(
        cli,
        ["batch", str(ref), str(test), "--regions", str(regions), "-o", "x.csv", "--resume", "--overwrite"],
    )
    assert res.exit_code == 2 and "exclude each other" in res.stderr


def test_dask_scheduler_option_gives_the_local_result(runner, folders, tmp_path):
    distributed = pytest.importorskip("distributed")
    ref, test, regions = folders
    local, remote = tmp_path / "local.csv", tmp_path / "dask.csv"
    base = ["batch", str(ref), str(test), "--regions", str(regions), "--fp", "0,0.3"]
    assert runner.invoke(cli, [*base, "-o", str(local), "-j", "2"]).exit_code == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
            res = runner.invoke(cli, [*base, "-o", str(remote), "--scheduler", cluster.scheduler_address])
    assert res.exit_code == 0, res.output
    assert remote.read_text() == local.read_text()


def test_unreachable_scheduler_is_a_clear_error(runner, folders, tmp_path):
    pytest.importorskip("distributed")
    ref, test, regions = folders
    res = runner.invoke(
        cli, ["batch", str(ref), str(test), "--regions", str(regions), "-o", str(tmp_path / "s.csv"),
              "--scheduler", "tcp://127.0.0.1:9"],
    )  # fmt: skip
    assert res.exit_code == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in res.stderr


@pytest.mark.kodak
@pytest.mark.slow
def test_kodak_against_jpeg_copies(runner, kodak_dir, tmp_path):
    jpeg = tmp_path / "jpeg-q25"
    jpeg.mkdir()
    for png in sorted(kodak_dir.glob("kodim*.png")):
        write_image(jpeg / f"{png.stem}.jpg", fpsnr.read_image(png), quality=25)
    regions = "kodak"  # the shipped annotations, by name
    out = tmp_path / "kodak.csv"
    res = runner.invoke(
        cli, ["batch", str(kodak_dir), str(jpeg), "--regions", str(regions),
              "-o", str(out), "--fp", "0,0.5"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    got = rows(out)
    assert len(got) == 48 and all(r["error"] == "" for r in got)
    row = next(r for r in got if r["ref"].endswith("kodim23.png") and r["fp"] == "0.5")
    ref = fpsnr.read_image(kodak_dir / "kodim23.png")
    want = fpsnr.score(
        ref, fpsnr.read_image(jpeg / "kodim23.jpg"), fpsnr.load_regions(kodak_regions() / "kodim23.json")
    )
    assert float(row["m_fpsnr"]) == want.m_fpsnr and row["n_regions"] == "2"
    assert 20 < float(row["psnr"]) < 40


NAMES = ["plain", "b\x0cc", "v\x0bv", "fs\x1cx", "nel\x85x", "ls\u2028x", "new\nline", "cr\rx",
         'q"uote,comma']  # fmt: skip


def test_every_name_and_label_comes_back_exactly_and_resume_redoes_none(runner, tmp_path, rng):
    # names with line-break characters of every kind: str.splitlines() split rows on them
    ref, test = tmp_path / "ref", tmp_path / "test"
    ref.mkdir()
    test.mkdir()
    for name in NAMES:
        img = rng.integers(0, 256, (24, 30, 3), dtype=np.uint8)
        write_image(ref / f"{name}.png", img)
        write_image(test / f"{name}.png", img // 2 * 2)
    out = tmp_path / "s.csv"
    args = ["batch", str(ref), str(test), "--regions", str(tmp_path), "--missing-regions", "center",
            "--label", "q\f30\r", "--out", str(out), "--regions-out", str(tmp_path / "r.csv"),
            "--workers", "1"]  # fmt: skip
    (tmp_path / "none.json").write_text('{"width": 1, "height": 1, "regions": [{"center": [0, 0]}]}')
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["ref"] for r in rows) == sorted(str(ref / f"{n}.png") for n in NAMES)
    assert {r["label"] for r in rows} == {"q\f30\r"}
    before = out.read_bytes()
    again = runner.invoke(cli, [*args, "--resume"])
    assert again.exit_code == 0, again.stderr
    assert f"resuming: {len(NAMES)} pair(s) already scored" in again.stderr
    assert out.read_bytes() == before




def test_resume_with_retry_errors_rescores_the_failed_pairs_only(tmp_path, rng):
    """Finding 6: a missing test image added later stayed an error row on --resume."""
    ref, test = three_pairs(tmp_path, rng)
    write_image(ref / "d.png", np.full((40, 56, 3), 7, np.uint8))  # its test image is missing at first
    out = tmp_path / "s.csv"
    base = ["batch", str(ref), str(test), "--missing-regions", "center", "--regions", "kodak", "-j", "1",
            "-o", str(out)]  # fmt: skip
    assert CliRunner().invoke(cli, base).exit_code == 1
    write_image(test / "d.png", np.full((40, 56, 3), 9, np.uint8))
    plain = CliRunner().invoke(cli, [*base, "--resume"])
    assert plain.exit_code == 1 and "resuming: 4 pair(s) already scored" in plain.stderr
    res = CliRunner().invoke(cli, [*base, "--resume", "--retry-errors"])
    assert res.exit_code == 0, res.output
    assert "resuming: 3 pair(s) already scored, 1 failed pair(s) scored again" in res.stderr
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and not any(r["error"] for r in rows)
    lone = CliRunner().invoke(cli, [*base[:-2], "--retry-errors", "-o", str(tmp_path / "x.csv")])
    assert lone.exit_code == 2 and "--retry-errors goes with --resume" in lone.stderr




def test_batch_scores_without_any_regions_file(tmp_path, rng):
    """Finding 5: --missing-regions center refused an empty regions folder; now --regions may be left out."""
    ref, test = three_pairs(tmp_path, rng)
    out = tmp_path / "s.csv"
    res = CliRunner().invoke(cli, ["batch", str(ref), str(test), "--missing-regions", "suggest", "-j", "1",
                                   "-o", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    refused = CliRunner().invoke(cli, ["batch", str(ref), str(test), "-o", str(tmp_path / "t.csv")])
    assert refused.exit_code == 2 and "--missing-regions center|suggest" in refused.stderr




def test_a_repeated_fp_is_refused_up_front(tmp_path, rng):
    """F19: --fp 0.5,0.5 wrote 480 rows, and 464 after a resume."""
    ref, test = three_pairs(tmp_path, rng)
    opts = ["--missing-regions", "center", "--regions", "kodak", "-j", "1"]
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "--fp", "0.5,0.5",
                                                   "-o", str(tmp_path / "s.csv")]))  # fmt: skip
    assert "Fp 0.5 is given twice" in line
    with pytest.raises(ParameterError, match="given twice"):
        fpsnr.ScoreOptions(fps=(0.0, 0.3, 0.0))


def test_resume_refuses_edited_regions_and_the_same_command_from_another_folder(tmp_path, rng, monkeypatch):
    """Reliability 2026-12 G15: --resume kept rows scored with a regions file since
    edited, and the same relative command from another folder (other images) resumed
    as if finished. The settings now hold absolute folders and a digest of the regions."""
    for side in ("A", "B"):
        (tmp_path / side).mkdir()
        three_pairs(tmp_path / side, rng)
    regions = tmp_path / "regs"
    regions.mkdir()
    for name in "abc":
        (regions / f"{name}.json").write_text(REGIONS_1 % (56, 40, 20, 20, 6))
    out = tmp_path / "s.csv"
    monkeypatch.chdir(tmp_path / "A")
    base = ["batch", "ref", "test", "--regions", str(regions), "-o", str(out), "-j", "1"]
    assert CliRunner().invoke(cli, base).exit_code == 0
    assert "resuming: 3 pair(s)" in CliRunner().invoke(cli, [*base, "--resume"]).stderr  # unchanged: kept
    monkeypatch.chdir(tmp_path / "B")
    moved = CliRunner().invoke(cli, [*base, "--resume"])
    assert moved.exit_code == 1 and "other settings (ref_dir, test_dirs)" in moved.stderr
    monkeypatch.chdir(tmp_path / "A")
    (regions / "a.json").write_text(REGIONS_1 % (56, 40, 30, 20, 6))
    edited = CliRunner().invoke(cli, [*base, "--resume"])
    assert edited.exit_code == 1 and "other settings (regions_sha256)" in edited.stderr
    (regions / "a.json").write_text(REGIONS_1 % (56, 40, 20, 20, 6))  # back as it was
    (regions / "new.json").write_text(REGIONS_1 % (56, 40, 20, 20, 6))  # a file for an image added later
    assert CliRunner().invoke(cli, [*base, "--resume"]).exit_code == 0
    (regions / "b.json").unlink()
    removed = CliRunner().invoke(cli, [*base, "--resume"])
    assert removed.exit_code == 1 and "other settings (regions_sha256)" in removed.stderr
