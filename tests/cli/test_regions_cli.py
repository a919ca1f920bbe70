"""``fpsnr regions check`` and ``fpsnr regions show``."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

import fpsnr
from fpsnr.cli import cli
from tests.conftest import jpeg_with_orientation


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




def test_regions_suggest_with_exif_apply_proposes_in_upright_coordinates(tmp_path):
    """Finding 14: `regions suggest` drew a sideways overlay, its centres in the stored orientation."""
    import json

    from fpsnr.images.io import read_image
    from fpsnr.regions.proposals import suggest_regions

    yy, xx = np.mgrid[0:120, 0:200]
    upright = np.full((120, 200, 3), 128, np.uint8)
    upright[(yy - 40) ** 2 + (xx - 150) ** 2 < 100] = 250  # one bright spot, up and to the right
    jpeg_with_orientation(np.ascontiguousarray(np.rot90(upright, 1)), 6, tmp_path / "phone.jpg")
    centres = {}
    for mode in ("keep", "apply"):
        out = tmp_path / f"{mode}.json"
        res = CliRunner().invoke(cli, ["regions", "suggest", str(tmp_path / "phone.jpg"), "-o", str(out),
                                       "--max", "1", "--exif", mode])  # fmt: skip
        assert res.exit_code == 0, res.output
        centres[mode] = json.loads(out.read_text())["regions"][0]["center"]
    want = suggest_regions(read_image(tmp_path / "phone.jpg", exif=True), max_regions=1).regions[0].center
    assert centres["apply"] == list(want)
    assert abs(centres["apply"][0] - 150) <= 8 and abs(centres["apply"][1] - 40) <= 8  # as a viewer sees it
    assert abs(centres["keep"][0] - 40) <= 8 and abs(centres["keep"][1] - 50) <= 8  # the stored, turned spot


def test_show_refuses_a_region_that_score_refuses(runner, pair, tmp_path):
    """G29: a disc holding no pixel was drawn ('wrote … (2 regions)'), which score refuses."""
    ref, test, _ = pair
    width, height = fpsnr.read_image(ref).shape[1::-1]
    tiny = tmp_path / "tiny.json"
    tiny.write_text(json.dumps({"width": width, "height": height, "regions": [
        {"center": [20, 20], "radius": 8}, {"center": [0.3, 0.3], "radius": 0.4}]}))  # fmt: skip
    out = tmp_path / "o.png"
    shown = runner.invoke(cli, ["regions", "show", str(ref), str(tiny), "-o", str(out)])
    scored = runner.invoke(cli, ["score", str(ref), str(test), "--regions", str(tiny)])
    assert shown.exit_code == scored.exit_code == 1 and not out.exists()
    said = f"region 'region-2' (centre (0.3, 0.3), radius 0.4) holds no pixel of the {width}×{height} image"
    assert said in shown.stderr and said in scored.stderr
