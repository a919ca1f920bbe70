"""``fpsnr anchors``, ``fpsnr bdrate`` and ``fpsnr plot`` end to end."""

from __future__ import annotations

import pytest

from fpsnr.cli import cli
from tests.conftest import write_photos


@pytest.fixture
def data(tmp_path, rng):
    return write_photos(tmp_path / "data", rng, count=2, height=176, width=192)


def test_anchors_bdrate_and_plots(runner, data, tmp_path):
    rd = tmp_path / "rd.csv"
    args = ["anchors", "--data", str(data), "--regions", str(data), "--missing-regions", "center",
            "--codec", "jpeg,webp", "--fp", "0,0.5", "-o", str(rd)]  # fmt: skip
    for q in (10, 30, 50, 70, 90):
        args += ["--quality", str(q)]
    res = runner.invoke(cli, args)
    # --regions points at a folder without JSON files: a clear error
    assert res.exit_code == 1 and "holds no .json regions files" in res.stderr
    (data / "0.json").write_text('{"width": 192, "height": 176, "regions": [{"center": [60, 50]}]}')
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    out = runner.invoke(cli, ["bdrate", str(rd), "--anchor", "jpeg", "--test", "webp", "--metric", "psnr",
                              "--metric", "mean_fpsnr", "--metric", "m_fpsnr"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "M-FPSNR (Fp=0.5)" in out.stdout and "%" in out.stdout.splitlines()[1]
    png = tmp_path / "rd.png"
    assert runner.invoke(cli, ["plot", "rd", str(rd), "--metric", "m_fpsnr", "-o", str(png)]).exit_code == 0
    assert png.stat().st_size > 1000
    table = runner.invoke(cli, ["ratio", str(rd), "--codec", "jpeg", "--fp", "0,0.5"])
    assert table.exit_code == 0 and table.stdout.count("\n") == 7  # header, rule, 5 rate points


def test_bdrate_errors_exit_1(runner, tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    res = runner.invoke(cli, ["bdrate", str(bad), "--anchor", "a", "--test", "b"])
    assert res.exit_code == 1 and "not an fpsnr RD file" in res.stderr
    res = runner.invoke(cli, ["bdrate", str(tmp_path / "missing.csv"), "--anchor", "a", "--test", "b"])
    assert res.exit_code == 1 and "no such RD file" in res.stderr
