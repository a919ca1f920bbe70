"""`fpsnr video anchors`: real ffmpeg encoders, checked against ffmpeg's own psnr filter and file sizes."""

from __future__ import annotations

import csv
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fpsnr.cli import cli
from tests.conftest import one_line_error
from tests.video.tools import ffmpeg_psnr

TIMING = ("encode_seconds", "decode_seconds")


def _clip(folder: Path, name: str = "clip", frames: int = 8, width: int = 96, height: int = 64) -> Path:
    """A small 8-bit 4:2:0 Y4M at 25 fps: a textured gradient moving one pixel a frame."""
    rng = np.random.default_rng(3)
    texture = rng.integers(0, 40, (height, width))
    xx = np.mgrid[0:height, 0:width][1]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.y4m"
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\n".encode())
        for f in range(frames):
            y = ((xx + f) * 200 // width + texture).astype(np.uint8)
            u = np.full((height // 2, width // 2), 100 + f, np.uint8)
            v = np.full((height // 2, width // 2), 150 - f, np.uint8)
            out.write(b"FRAME\n" + y.tobytes() + u.tobytes() + v.tobytes())
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _anchors(data: Path, out: Path, *args: str):
    return CliRunner().invoke(
        cli, ["video", "anchors", "--data", str(data), "-o", str(out), "-j", "1", *args]
    )


def test_an_x264_curve_agrees_with_ffmpeg_s_psnr_filter_and_the_stream_sizes(ffmpeg, tmp_path):
    data = tmp_path / "seqs"
    source = _clip(data)
    out = tmp_path / "rd.csv"
    res = _anchors(data, out, "--codec", "x264", "--crf", "22,30,38")
    assert res.exit_code == 0, res.output
    rows = _rows(out)
    assert [(r["codec"], r["rate_point"]) for r in rows] == [
        ("x264", "crf22"),
        ("x264", "crf30"),
        ("x264", "crf38"),
    ]
    for row in rows:
        assert row["error"] == "" and row["frames"] == "8" and float(row["fps"]) == 25.0
        # the same encode, by hand, from the arguments the row records
        stream = tmp_path / f"{row['rate_point']}.264"
        subprocess.run(
            [
                ffmpeg,
                "-nostdin",
                "-loglevel",
                "error",
                "-y",
                "-i",
                str(source),
                *row["settings"].split(),
                "-f",
                "h264",
                str(stream),
            ],
            check=True,
        )
        nbytes = stream.stat().st_size
        assert int(row["bytes"]) == nbytes
        assert float(row["kbps"]) == pytest.approx(8 * nbytes / 1000 / (8 / 25), rel=1e-12)
        assert float(row["bpp"]) == pytest.approx(8 * nbytes / (96 * 64 * 8), rel=1e-12)
        rows_ff, totals = ffmpeg_psnr(ffmpeg, ["-i", str(source)], ["-i", str(stream)], tmp_path)
        assert float(row["psnr_pooled"]) == pytest.approx(totals[0], abs=5e-7)  # ffmpeg prints 6 decimals
        per_frame = [r["psnr_y"] for r in rows_ff]
        assert float(row["psnr"]) == pytest.approx(
            sum(per_frame) / len(per_frame), abs=5e-3
        )  # 2 decimals each
    psnr = [float(r["psnr"]) for r in rows]
    assert psnr == sorted(psnr, reverse=True)  # a higher CRF, fewer bits, lower quality


@pytest.mark.slow
def test_bd_rate_of_x265_against_x264_equals_the_bjontegaard_package(ffmpeg, tmp_path):
    import bjontegaard

    data = tmp_path / "seqs"
    _clip(data, frames=6, width=128, height=96)
    out = tmp_path / "rd.csv"
    res = _anchors(data, out, "--codec", "x264,x265", "--crf", "20,26,32,38")
    assert res.exit_code == 0, res.output
    rows = _rows(out)
    curve = {
        c: (
            [float(r["bpp"]) for r in rows if r["codec"] == c],
            [float(r["psnr"]) for r in rows if r["codec"] == c],
        )
        for c in ("x264", "x265")
    }
    want = bjontegaard.bd_rate(*curve["x264"], *curve["x265"], method="akima")
    got = CliRunner().invoke(
        cli, ["bdrate", str(out), "--anchor", "x264", "--test", "x265", "--format", "csv"]
    )
    assert got.exit_code == 0, got.output
    record = next(csv.DictReader(got.stdout.splitlines()))
    assert float(record["bd_rate_percent"]) == pytest.approx(want, abs=1e-6)


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_table_but_its_timings(ffmpeg, tmp_path):
    data = tmp_path / "seqs"
    _clip(data, "a")
    _clip(data, "b", frames=6)
    whole = tmp_path / "whole.csv"
    args = ["--codec", "x264", "--crf", "24,30,36"]
    assert _anchors(data, whole, *args).exit_code == 0
    cut = tmp_path / "cut.csv"
    command = [
        sys.executable,
        "-m",
        "fpsnr",
        "video",
        "anchors",
        "--data",
        str(data),
        "-o",
        str(cut),
        "-j",
        "1",
        *args,
    ]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = cut.with_name(cut.name + ".partial")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        partial.exists() and len(partial.read_text().splitlines()) >= 3
    ):
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert not cut.exists() and len(partial.read_text().splitlines()) < 7  # a header and fewer than 6 rows
    res = _anchors(data, cut, *args, "--resume")
    assert res.exit_code == 0, res.output

    def without_timing(path: Path) -> list[dict[str, str]]:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in _rows(path)]

    assert without_timing(cut) == without_timing(whole)


def test_an_encoder_this_ffmpeg_lacks_is_named_once_and_its_rows_are_error_rows(
    ffmpeg, tmp_path, monkeypatch
):
    fake = tmp_path / "ffmpeg"
    fake.write_text(
        f'#!/bin/sh\nif [ "$2" = "-encoders" ]; then "{ffmpeg}" "$@" | grep -v libsvtav1; '
        f'else exec "{ffmpeg}" "$@"; fi\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("FPSNR_FFMPEG", str(fake))
    data = tmp_path / "seqs"
    _clip(data, frames=3)
    out = tmp_path / "rd.csv"
    res = _anchors(data, out, "--codec", "x264,svtav1", "--crf", "30")
    assert res.exit_code == 1
    assert res.stderr.count("has no encoder for svtav1 (libsvtav1); their rows are error rows") == 1
    rows = {r["codec"]: r for r in _rows(out)}
    assert rows["x264"]["error"] == "" and rows["svtav1"]["error"] == f"{fake} has no libsvtav1 encoder"
    assert rows["svtav1"]["psnr"] == "" and rows["svtav1"]["bytes"] == ""


def test_a_raw_source_needs_its_frame_rate_and_bad_settings_are_one_line(ffmpeg, tmp_path):
    data = tmp_path / "seqs"
    data.mkdir()
    (data / "r.yuv").write_bytes(bytes(range(256)) * (96 * 64 * 3 // 2 * 2 // 256))
    out = tmp_path / "rd.csv"
    res = _anchors(data, out, "--size", "96x64", "--crf", "30")
    assert res.exit_code == 1
    assert "a raw sequence has no frame rate; give it with --frame-rate" in _rows(out)[0]["error"]
    res = _anchors(data, tmp_path / "rd2.csv", "--size", "96x64", "--crf", "30", "--frame-rate", "30000/1001")
    assert res.exit_code == 0, res.output
    row = _rows(tmp_path / "rd2.csv")[0]
    assert row["frames"] == "2" and math.isclose(float(row["fps"]), 30000 / 1001)
    zero = _anchors(data, out, "--frame-rate", "0", "--overwrite")
    assert zero.exit_code == 2 and "Invalid value for '--frame-rate': a frame rate is positive" in zero.output
    assert "nothing" in one_line_error(_anchors(tmp_path / "nothing", tmp_path / "rd3.csv"))
    assert "exists" in one_line_error(_anchors(data, out, "--size", "96x64", "--crf", "30"))


def test_another_codec_s_decoded_sequences_give_the_rows_anchors_would(ffmpeg, tmp_path):
    data = tmp_path / "seqs"
    source = _clip(data)
    anchors = tmp_path / "anchors.csv"
    assert _anchors(data, anchors, "--codec", "x264", "--crf", "26").exit_code == 0
    (want,) = _rows(anchors)
    # "my codec" is x264 run by hand: its stream and its decoded sequence
    mine = tmp_path / "mine"
    mine.mkdir()
    stream = mine / "clip.264"
    quiet = [ffmpeg, "-nostdin", "-loglevel", "error", "-y"]
    subprocess.run(
        [*quiet, "-i", str(source), *want["settings"].split(), "-f", "h264", str(stream)], check=True
    )
    subprocess.run([*quiet, "-i", str(stream), "-f", "yuv4mpegpipe", str(mine / "clip-q1.y4m")], check=True)
    points = mine / "points.csv"
    points.write_text(f"codec,rate_point,sequence,decoded,bytes,quality\nmine,q1,clip.y4m,clip-q1.y4m,"
                      f"{stream.stat().st_size},1\n")  # fmt: skip
    out = tmp_path / "mine.csv"
    runner = CliRunner()
    res = runner.invoke(
        cli, ["video", "external", "--data", str(data), "--points", str(points), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    (got,) = _rows(out)
    assert (got["codec"], got["rate_point"], got["quality"], got["settings"]) == ("mine", "q1", "1.0", "")
    same = [c for c in want if c not in ("codec", "rate_point", "quality", "settings", *TIMING)]
    assert {c: got[c] for c in same} == {c: want[c] for c in same}
    # both tables read as one
    both = runner.invoke(
        cli, ["plot", "rd", str(anchors), str(out), "-o", str(tmp_path / "rd.png"), "--rate", "kbps"]
    )
    assert both.exit_code == 0, both.output
    header = "codec,rate_point,sequence,decoded,bytes\n"
    for text, message in {
        "codec,rate_point,sequence,decoded\n": "the header lacks bytes",
        header + "mine,q1,clip.y4m,clip-q1.y4m,12.5\n": "line 2, column bytes",
        header + "mine,q1,other.y4m,clip-q1.y4m,12\n": "no sequence other.y4m",
        header + "mine,q1,clip.y4m,gone.y4m,12\n": "no decoded sequence at",
    }.items():
        points.write_text(text)
        bad = runner.invoke(cli, ["video", "external", "--data", str(data), "--points", str(points),
                                  "-o", str(tmp_path / "x.csv")])  # fmt: skip
        assert message in one_line_error(bad)
