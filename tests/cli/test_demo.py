"""``fpsnr demo``: the README's main job, on data shipped with the install."""

from __future__ import annotations

import json

from fpsnr.cli import cli


def test_demo_scores_the_bundled_example_and_writes_files(runner, tmp_path):
    out = tmp_path / "demo"
    res = runner.invoke(cli, ["demo", "--out-dir", str(out)])
    assert res.exit_code == 0, res.output
    assert "M-FPSNR Fp=0.5" in res.stdout and "face" in res.stdout
    for name in ("astronaut.png", "astronaut-q30.jpg", "astronaut.json", "overlay.png"):
        assert (out / name).stat().st_size > 0
    # the command the demo prints reproduces its numbers
    again = runner.invoke(
        cli,
        ["score", str(out / "astronaut.png"), str(out / "astronaut-q30.jpg"), "--regions",
         str(out / "astronaut.json"), "--fp", "0,0.5", "--format", "json"],
    )  # fmt: skip
    data = json.loads(again.stdout)
    assert f"{data[1]['m_fpsnr']:.4f}" in res.stdout
    assert data[1]["psnr"] < data[1]["regions"][2]["fpsnr"]  # the smooth shuttle compresses well


def test_demo_reports_unwritable_folder(runner, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = runner.invoke(cli, ["demo", "--out-dir", str(blocker / "sub")])
    assert res.exit_code == 1 and "cannot create output folder" in res.stderr
