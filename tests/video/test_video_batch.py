"""``fpsnr video --batch``: sequences paired by name over folders, error rows, workers and resume."""

from __future__ import annotations

import csv

import pytest

from fpsnr.cli import cli
from fpsnr.video import VideoOptions, score_video
from tests.video.conftest import planes_420
from tests.video.test_video_cli import y4m


@pytest.fixture
def folders(tmp_path, rng):
    refs, low, high = tmp_path / "refs", tmp_path / "low", tmp_path / "high"
    for folder in (refs, low, high):
        folder.mkdir()
    for name, frames in (("alpha", 3), ("beta", 4), ("gamma", 2)):
        ref, dist = planes_420(rng, frames, 24, 32, noise=10)
        _, better = planes_420(rng, frames, 24, 32, noise=2)
        y4m(refs / f"{name}.y4m", ref)
        y4m(low / f"{name}.y4m", dist)
        if name != "gamma":  # one sequence missing from a DIST folder: an error row, the run goes on
            y4m(high / f"{name}.y4m", [tuple(p for p in f) for f in better])
    return refs, low, high


def rows_of(path):
    return list(csv.DictReader(path.read_text().splitlines()))


def test_every_sequence_gives_both_poolings_equal_to_scoring_it_alone(runner, folders, tmp_path):
    refs, low, high = folders
    out = tmp_path / "scores.csv"
    result = runner.invoke(
        cli, ["video", "--batch", str(refs), str(low), str(high), "-o", str(out), "-j", "1"]
    )
    assert result.exit_code == 1 and "1 sequence(s) failed" in result.output
    rows = rows_of(out)
    assert len(rows) == 12 and {r["pooling"] for r in rows} == {"mean_db", "pooled"}
    failed = [r for r in rows if r["error"]]
    assert {(r["label"], r["ref"].rsplit("/", 1)[1]) for r in failed} == {("high", "gamma.y4m")}
    assert "no sequence named gamma" in failed[0]["error"]
    alone = score_video(refs / "beta.y4m", low / "beta.y4m", options=VideoOptions())
    for row in rows:
        if row["label"] == "low" and row["ref"].endswith("beta.y4m"):
            values = alone.mean_db if row["pooling"] == "mean_db" else alone.pooled
            assert float(row["psnr_yuv"]) == values["psnr_yuv"]
            assert float(row["m_fpsnr_y_fp0.5"]) == values["m_fpsnr_y_fp0.5"]
            assert row["frames"] == "4"
    again = tmp_path / "two.csv"
    runner.invoke(cli, ["video", "--batch", str(refs), str(low), str(high), "-o", str(again), "-j", "2"])
    assert again.read_text() == out.read_text()  # workers change nothing


def test_an_interrupted_run_resumes_to_the_same_file(runner, folders, tmp_path, monkeypatch):
    refs, low, high = folders
    whole = tmp_path / "whole.csv"
    runner.invoke(cli, ["video", "--batch", str(refs), str(low), str(high), "-o", str(whole), "-j", "1"])
    import fpsnr.video.batch as batch

    real = batch.run_sequences

    def stopped_after_two(tasks, job, workers):
        for n, rows in enumerate(real(tasks, job, workers)):
            if n == 2:
                raise KeyboardInterrupt
            yield rows

    out = tmp_path / "scores.csv"
    monkeypatch.setattr(batch, "run_sequences", stopped_after_two)
    result = runner.invoke(
        cli, ["video", "--batch", str(refs), str(low), str(high), "-o", str(out), "-j", "1"]
    )
    assert result.exit_code == 130 and not out.exists()
    assert len(rows_of(tmp_path / "scores.csv.partial")) == 4
    monkeypatch.setattr(batch, "run_sequences", real)
    refused = runner.invoke(cli, ["video", "--batch", str(refs), str(low), str(high), "-o", str(out)])
    assert refused.exit_code == 1 and "--resume" in refused.output
    other = runner.invoke(
        cli,
        [
            "video",
            "--batch",
            str(refs),
            str(low),
            str(high),
            "-o",
            str(out),
            "--resume",
            "--rule",
            "4:1:1-mse",
        ],
    )
    assert other.exit_code == 1 and "other settings" in other.output
    result = runner.invoke(
        cli, ["video", "--batch", str(refs), str(low), str(high), "-o", str(out), "--resume"]
    )
    assert "resuming: 2 sequence(s) already scored" in result.output
    assert out.read_text() == whole.read_text()


def test_batch_options_are_refused_without_batch_and_per_frame_files_with_it(runner, folders, tmp_path):
    refs, low, _ = folders
    one = runner.invoke(cli, ["video", str(refs / "alpha.y4m"), str(low / "alpha.y4m"), "-o", "x.csv"])
    assert one.exit_code == 2 and "go with --batch" in one.output
    two = runner.invoke(
        cli, ["video", str(refs / "alpha.y4m"), str(low / "alpha.y4m"), str(low / "beta.y4m")]
    )
    assert two.exit_code == 2 and "give one DIST" in two.output
    both = runner.invoke(
        cli,
        [
            "video",
            "--batch",
            str(refs),
            str(low),
            "-o",
            str(tmp_path / "s.csv"),
            "--frames-csv",
            str(tmp_path / "f.csv"),
        ],
    )
    assert both.exit_code == 2
    missing = runner.invoke(cli, ["video", "--batch", str(refs), str(low)])
    assert missing.exit_code == 2 and "--out" in missing.output
