"""``fpsnr regions check`` and ``fpsnr regions show``."""

from __future__ import annotations

import json

import numpy as np

import fpsnr
from fpsnr.cli import cli


def test_check_reports_each_file(runner, pair, tmp_path):
    _, _, regions = pair
    ok = runner.invoke(cli, ["regions", "check", str(regions)])
    assert ok.exit_code == 0 and "ok" in ok.stdout and "2 region(s)" in ok.stdout
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "good.json").write_text(regions.read_text())
    (folder / "bad.json").write_text(
        '{"width": 10, "height": 10, "regions": [{"center": [1, 1], "radius": 0}]}'
    )
    (folder / "outside.json").write_text(
        '{"width": 10, "height": 10, "regions": [{"center": [50, 50], "radius": 2}]}'
    )
    res = runner.invoke(cli, ["regions", "check", str(folder)])
    assert res.exit_code == 1
    assert "good.json" in res.stdout
    assert "bad.json: $.regions[0].radius" in res.stderr
    assert "outside the recorded 10×10 image" in res.stderr
    assert "2 regions file(s) failed validation" in res.stderr
    assert "Traceback" not in res.output


def test_show_draws_circles_and_dims_the_periphery(runner, pair, tmp_path):
    ref, _, regions = pair
    out = tmp_path / "overlay.png"
    res = runner.invoke(cli, ["regions", "show", str(ref), str(regions), "--out", str(out)])
    assert res.exit_code == 0, res.output
    overlay = fpsnr.read_image(out)
    original = fpsnr.read_image(ref)
    assert overlay.shape == original.shape
    # the periphery far from every circle and label is darkened; a disc's centre area is not
    corner = (slice(85, 95), slice(0, 10))
    assert overlay[corner].mean() < 0.6 * original[corner].mean()
    inner = (slice(26, 29), slice(24, 27))
    assert np.array_equal(overlay[inner], original[inner])


def test_show_with_collection_and_missing_image(runner, pair, tmp_path):
    ref, _, regions = pair
    collection = tmp_path / "all.json"
    collection.write_text(json.dumps({"images": [json.loads(regions.read_text())]}))
    out = tmp_path / "o.png"
    assert runner.invoke(cli, ["regions", "show", str(ref), str(collection), "-o", str(out)]).exit_code == 0
    res = runner.invoke(cli, ["regions", "show", str(tmp_path / "nope.png"), str(regions), "-o",
                              str(tmp_path / "o2.png")])  # fmt: skip
    assert res.exit_code == 1 and "no such file" in res.stderr
    # an existing picture is kept unless --overwrite (as regions suggest does; newcomer finding 27)
    before = out.read_bytes()
    again = runner.invoke(cli, ["regions", "show", str(ref), str(regions), "-o", str(out)])
    assert again.exit_code == 1 and f"{out} exists; use --overwrite to replace it" in again.stderr
    assert out.read_bytes() == before
    replaced = runner.invoke(cli, ["regions", "show", str(ref), str(regions), "-o", str(out), "--overwrite"])
    assert replaced.exit_code == 0
