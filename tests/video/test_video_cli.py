"""``fpsnr video`` as a user runs it: outputs, and one line with exit status 1 for every bad input."""

from __future__ import annotations

import csv
import json
import subprocess

import click
import numpy as np
import pytest

from fpsnr.cli import cli
from fpsnr.video import score_video
from tests.video.conftest import planes_420, write_raw


def y4m(path, frames, colour="420jpeg", cut=0):
    height, width = frames[0][0].shape
    data = bytearray(f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C{colour}\n".encode())
    for planes in frames:
        data += b"FRAME\n" + b"".join(p.tobytes() for p in planes)
    path.write_bytes(bytes(data[: len(data) - cut]))
    return path


@pytest.fixture
def pair(tmp_path, rng):
    ref, dist = planes_420(rng, 4, 24, 32, noise=8)
    return write_raw(tmp_path / "ref.yuv", ref), write_raw(tmp_path / "dist.yuv", dist), ref, dist


def one_line_error(result, *words):
    assert result.exit_code == 1, result.output
    lines = [x for x in result.output.splitlines() if x.startswith("Error:")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    for word in words:
        assert word in lines[0], lines[0]


def test_summary_formats_and_per_frame_csvs(runner, pair, tmp_path):
    ref, dist, _, _ = pair
    out, regions = tmp_path / "frames.csv", tmp_path / "regions.csv"
    result = runner.invoke(
        cli,
        [
            "video",
            str(ref),
            str(dist),
            "--size",
            "32x24",
            "--fp",
            "0,0.5",
            "--frames-csv",
            str(out),
            "--regions-csv",
            str(regions),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["frames"] == 4 and summary["rule"] == "6:1:1"
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["frame"] for r in rows] == ["0", "1", "2", "3"]
    assert float(summary["mean_db"]["psnr_y"]) == pytest.approx(np.mean([float(r["psnr_y"]) for r in rows]))
    assert len(list(csv.DictReader(regions.read_text().splitlines()))) == 4
    assert not (tmp_path / "frames.csv.partial").exists()
    result = runner.invoke(
        cli,
        [
            "video",
            str(ref),
            str(dist),
            "--size",
            "32x24",
            "--format",
            "csv",
            "--rule",
            "4:1:1-mse",
            "--frames-csv",
            str(out),
        ],
    )
    one_line_error(result, "exists", "--overwrite")
    result = runner.invoke(
        cli, ["video", str(ref), str(dist), "--size", "32x24", "--format", "csv", "--rule", "4:1:1-mse"]
    )
    assert [r["pooling"] for r in csv.DictReader(result.stdout.splitlines())] == ["mean_db", "pooled"]
    table = runner.invoke(cli, ["video", str(ref), str(dist), "--size", "32x24"]).stdout
    assert "mean of dB" in table and "PSNR YUV 6:1:1" in table


def test_a_run_refused_before_its_first_frame_leaves_no_file(runner, pair, tmp_path, rng):
    ref, _, frames, _ = pair
    short = write_raw(tmp_path / "short.yuv", frames[:3])
    out = tmp_path / "frames.csv"
    result = runner.invoke(cli, ["video", str(ref), str(short), "--size", "32x24", "--frames-csv", str(out)])
    assert result.exit_code == 1
    assert not out.exists() and not (tmp_path / "frames.csv.partial").exists()
    same = runner.invoke(
        cli,
        ["video", str(ref), str(ref), "--size", "32x24", "--frames-csv", str(out), "--regions-csv", str(out)],
    )
    assert same.exit_code == 2 and "must differ" in same.output


def test_rows_go_to_a_partial_file_under_a_lock_and_appear_complete(pair, tmp_path):
    ref, dist, _, _ = pair
    out = tmp_path / "frames.csv"
    seen = []

    def look(score):
        seen.append((out.exists(), (tmp_path / "frames.csv.partial").read_text().count("\n")))
        from fpsnr.errors import OutputError

        with pytest.raises(OutputError, match="another fpsnr run"):
            score_video(ref, dist, size=(32, 24), frames_csv=out)

    score_video(ref, dist, size=(32, 24), frames_csv=out, on_frame=look)
    assert seen == [
        (False, 2),
        (False, 3),
        (False, 4),
        (False, 5),
    ]  # the header, and each row as its frame is scored
    assert out.read_text().count("\n") == 5


def test_mismatches_are_refused_with_the_fix(runner, pair, tmp_path, rng):
    ref, dist, frames, _ = pair
    short = write_raw(tmp_path / "short.yuv", frames[:3])
    one_line_error(
        runner.invoke(cli, ["video", str(ref), str(short), "--size", "32x24"]),
        "has 3 frames",
        "has 4",
        "--frames 3",
    )
    assert (
        runner.invoke(cli, ["video", str(ref), str(short), "--size", "32x24", "--frames", "3"]).exit_code == 0
    )
    one_line_error(
        runner.invoke(cli, ["video", str(ref), str(dist), "--size", "32x24", "--frames", "9"]), "only 4"
    )
    one_line_error(
        runner.invoke(cli, ["video", str(ref), str(dist), "--size", "32x24", "--skip", "4"]), "none left"
    )
    one_line_error(
        runner.invoke(cli, ["video", str(ref), str(dist), "--size", "30x24"]),
        "not a whole number",
        "--size",
        "--pix-fmt",
    )
    one_line_error(runner.invoke(cli, ["video", str(ref), str(dist)]), "--size WxH")
    one_line_error(
        runner.invoke(cli, ["video", str(ref), str(dist), "--size", "32x24", "--pix-fmt", "nv12"]),
        "pixel format 'nv12'",
    )
    other = y4m(tmp_path / "o.y4m", planes_420(rng, 4, 24, 16)[0])
    one_line_error(runner.invoke(cli, ["video", str(other), str(dist), "--size", "32x24"]), "header says")
    same = y4m(tmp_path / "s.y4m", frames)
    assert (
        runner.invoke(cli, ["video", str(same), str(dist), "--size", "32x24"]).exit_code == 0
    )  # Y4M beside raw
    deep = planes_420(rng, 4, 24, 32, depth=10)[0]
    deep_file = write_raw(tmp_path / "deep.yuv", deep)
    one_line_error(
        runner.invoke(cli, ["video", str(ref), str(deep_file), "--size", "32x24"]),
        "has 8 frames",
        "--pix-fmt",
    )


def test_damaged_files_are_one_line(runner, pair, tmp_path, rng):
    _, dist, frames, _ = pair
    cut = y4m(tmp_path / "cut.y4m", frames, cut=10)
    one_line_error(runner.invoke(cli, ["video", str(cut), str(cut)]), "frame 3 is cut short", "truncated")
    odd = y4m(tmp_path / "odd.y4m", frames, colour="411")
    one_line_error(runner.invoke(cli, ["video", str(odd), str(odd)]), "C411", "-pix_fmt yuv420p")
    one_line_error(
        runner.invoke(cli, ["video", str(tmp_path / "nope.yuv"), str(dist), "--size", "32x24"]),
        "no such video",
    )
    (tmp_path / "junk.y4m").write_bytes(b"YUV4MPEG2 " + b"W" * 9000)
    one_line_error(runner.invoke(cli, ["video", str(tmp_path / "junk.y4m"), str(dist)]), "longer than")
    ten = planes_420(rng, 4, 24, 32, depth=10)[0]
    ten[2][1][0, 0] = 4000  # not a 10-bit sample: the pixel format is wrong
    bad = write_raw(tmp_path / "bad10.yuv", ten)
    one_line_error(
        runner.invoke(cli, ["video", str(bad), str(bad), "--size", "32x24", "--pix-fmt", "yuv420p10le"]),
        "frame 2 has U samples up to 4000",
        "10-bit maximum 1023",
    )


def test_containers_need_ffmpeg_and_say_how_to_get_it(runner, tmp_path, monkeypatch):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not a video")
    monkeypatch.setattr("fpsnr.video.ffmpeg.find_ffmpeg", lambda: None)
    one_line_error(runner.invoke(cli, ["video", str(clip), str(clip)]), "needs ffmpeg", "fpsnr[video]")


def test_a_file_ffmpeg_cannot_decode_is_one_line(runner, ffmpeg, tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not a video at all" * 100)
    one_line_error(runner.invoke(cli, ["video", str(clip), str(clip)]), "clip.mp4", "ffmpeg cannot decode it")
    one_line_error(runner.invoke(cli, ["video", str(tmp_path / "gone.mp4"), str(clip)]), "no such video")


def test_a_stream_ffmpeg_fails_on_part_way_is_refused_not_scored_from_concealed_frames(
    runner, ffmpeg, tmp_path
):
    from tests.video.conftest import SHARED_VIDEO

    source = SHARED_VIDEO / "carphone_pristine.mp4"
    if not source.is_file():
        pytest.skip("../shared/data/video is not present (fresh clone)")
    whole = tmp_path / "whole.ts"
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(source), "-c", "copy", "-f", "mpegts", str(whole)], check=True
    )
    data = bytearray(whole.read_bytes())
    rng = np.random.default_rng(1)
    for at in rng.integers(100_000, len(data), 300):
        data[at] ^= 0xFF  # damaged packets past the first frames
    broken = tmp_path / "broken.ts"
    broken.write_bytes(bytes(data))
    one_line_error(
        runner.invoke(cli, ["video", str(whole), str(broken)]), "broken.ts", "stopped decoding it part-way"
    )
    assert runner.invoke(cli, ["video", str(whole), str(whole), "--format", "csv"]).exit_code == 0


def test_the_cli_rule_and_peak_choices_are_the_library_s():
    from fpsnr.cli.video_anchors import peak_option, rule_option
    from fpsnr.video.measure import PEAKS, RULES

    for option, names in ((rule_option, RULES), (peak_option, PEAKS)):
        command = option(click.command()(lambda **kw: None))
        assert tuple(command.params[0].type.choices) == names
