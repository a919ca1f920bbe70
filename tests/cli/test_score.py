"""``fpsnr score`` through click's CliRunner: outputs and every error path."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

import fpsnr
from fpsnr.cli import cli
from fpsnr.images.io import write_image
from tests.conftest import jpeg_with_orientation

KEYS = [
    "ref", "test", "width", "height", "channels", "channel", "peak", "fp",
    "psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr", "regions", "plane_psnr",
]  # fmt: skip
REGION_KEYS = ["label", "center", "radius", "pixels", "mse", "fpsnr"]


def test_json_has_exactly_the_documented_keys_and_api_numbers(runner, pair):
    ref, test, regions = pair
    result = runner.invoke(cli, ["score", str(ref), str(test), "--regions", str(regions), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == KEYS
    assert [list(r) for r in data["regions"]] == [REGION_KEYS, REGION_KEYS]
    api = fpsnr.score(fpsnr.read_image(ref), fpsnr.read_image(test), fpsnr.load_regions(regions), fp=0.5)
    assert data["m_fpsnr"] == api.m_fpsnr  # bit-identical through the CLI
    assert data["regions"][1]["fpsnr"] == api.regions[1].fpsnr
    assert data["ref"] == str(ref) and data["fp"] == 0.5


def test_fp_list_gives_an_array_in_json_and_rows_in_csv(runner, pair):
    ref, test, regions = pair
    args = ["score", str(ref), str(test), "--regions", str(regions), "--fp", "0,0.1,0.2,0.3,0.4,0.5"]
    data = json.loads(runner.invoke(cli, [*args, "--format", "json"]).stdout)
    assert [d["fp"] for d in data] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert data[0]["m_fpsnr"] == data[0]["mean_fpsnr"]
    rows = list(csv.DictReader(io.StringIO(runner.invoke(cli, [*args, "--format", "csv"]).stdout)))
    assert len(rows) == 6
    assert list(rows[0]) == KEYS[:-2]  # the scalar columns
    assert float(rows[3]["m_fpsnr"]) == data[3]["m_fpsnr"]


def test_table_lists_regions_and_m_fpsnr(runner, pair):
    ref, test, regions = pair
    result = runner.invoke(cli, ["score", str(ref), str(test), "--regions", str(regions), "--fp", "0,0.5"])
    assert result.exit_code == 0
    out = result.stdout
    for text in (
        "PSNR",
        "mean F_PSNR",
        "periphery PSNR",
        "M-FPSNR Fp=0 ",
        "M-FPSNR Fp=0.5",
        "(30.0, 30.0)",
        "15.00",
    ):
        assert text in out
    assert result.stderr == ""


def test_inf_is_written_as_string_in_json_and_inf_in_csv(runner, pair):
    ref, _, regions = pair
    base = ["score", str(ref), str(ref), "--regions", str(regions)]
    data = json.loads(runner.invoke(cli, [*base, "--format", "json"]).stdout)
    assert data["psnr"] == "inf" and data["regions"][0]["fpsnr"] == "inf"
    row = next(csv.DictReader(io.StringIO(runner.invoke(cli, [*base, "--format", "csv"]).stdout)))
    assert row["m_fpsnr"] == "inf"
    capped = json.loads(runner.invoke(cli, [*base, "--format", "json", "--max-db", "100"]).stdout)
    assert capped["m_fpsnr"] == 100.0


def test_channel_y_and_alpha_drop(runner, tmp_path, rng):
    img = rng.integers(0, 256, (32, 32, 4), dtype=np.uint8)
    other = img.copy()
    other[..., :3] //= 2
    write_image(tmp_path / "a.png", img)
    write_image(tmp_path / "b.png", other)
    (tmp_path / "r.json").write_text(
        '{"width": 32, "height": 32, "regions": [{"center": [16, 16], "radius": 6}]}'
    )
    args = ["score", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--regions", str(tmp_path / "r.json")]
    refused = runner.invoke(cli, args)
    assert refused.exit_code == 1 and "alpha channel" in refused.stderr
    out = runner.invoke(cli, [*args, "--alpha", "drop", "--channel", "y", "--format", "json"])
    assert out.exit_code == 0, out.output
    want = fpsnr.score(img, other, [fpsnr.Region((16, 16), 6.0)], channel="y", alpha="drop")
    assert json.loads(out.stdout)["m_fpsnr"] == want.m_fpsnr


def test_float_tiff_needs_data_range(runner, tmp_path, rng):
    img = rng.random((16, 16, 3)).astype(np.float32)
    write_image(tmp_path / "a.tiff", img)
    write_image(tmp_path / "b.tiff", img * 0.5)
    (tmp_path / "r.json").write_text(
        '{"width": 16, "height": 16, "regions": [{"center": [8, 8], "radius": 4}]}'
    )
    args = [
        "score",
        str(tmp_path / "a.tiff"),
        str(tmp_path / "b.tiff"),
        "--regions",
        str(tmp_path / "r.json"),
    ]
    res = runner.invoke(cli, args)
    assert res.exit_code == 1 and "--data-range" in res.stderr
    assert runner.invoke(cli, [*args, "--data-range", "1"]).exit_code == 0


def _one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert text in result.stderr, result.stderr
    assert "Traceback" not in result.output
    if code == 1:
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stdout == ""


@pytest.mark.parametrize(
    "case,text",
    [
        ("missing-test", "no such file"),
        ("truncated", "truncated, corrupt or not an image"),
        ("shape", "test image is 64×48 pixels; the reference is 128×96"),
        ("gray", "grayscale and the reference is colour"),
        ("depth", "dtype uint16; the reference has uint8"),
        ("regions-missing-key", "$.regions[0]: missing 'center'"),
        ("regions-nan", "NaN is not a number JSON allows"),
        ("regions-negative-radius", "$.regions[0].radius: expected a positive number"),
        ("regions-empty-region", "holds no pixel of the 128×96 image"),
        ("regions-aspect", "different aspect ratio"),
        ("fp-range", "Fp must be in [0, 1]"),
    ],
)
def test_errors_exit_1_with_one_line(runner, pair, tmp_path, rng, case, text):
    ref, test, regions = pair
    args = ["score", str(ref), str(test), "--regions", str(regions)]
    bad = tmp_path / "bad"
    if case == "missing-test":
        args[2] = str(tmp_path / "nope.png")
    elif case == "truncated":
        data = test.read_bytes()
        bad.with_suffix(".jpg").write_bytes(data[: len(data) // 3])
        args[2] = str(bad.with_suffix(".jpg"))
    elif case in ("shape", "gray", "depth"):
        img = fpsnr.read_image(ref)
        other = {"shape": img[::2, ::2], "gray": img[:, :, 0], "depth": img.astype(np.uint16)}[case]
        write_image(bad.with_suffix(".png"), other)
        args[2] = str(bad.with_suffix(".png"))
    elif case.startswith("regions"):
        head = '{"width": 128, "height": 96, "regions": '
        doc = head + {
            "regions-missing-key": '[{"radius": 3}]}',
            "regions-nan": '[{"center": [NaN, 3]}]}',
            "regions-negative-radius": '[{"center": [3, 3], "radius": -1}]}',
            "regions-empty-region": '[{"center": [500, 3], "radius": 5}]}',
        }.get(case, "")
        if case == "regions-aspect":
            doc = '{"width": 100, "height": 100, "regions": [{"center": [5, 3], "radius": 5}]}'
        bad.with_suffix(".json").write_text(doc)
        args[4] = str(bad.with_suffix(".json"))
    elif case == "fp-range":
        args += ["--fp", "0.2,1.5"]
    _one_line_error(runner.invoke(cli, args), 1, text)


@pytest.mark.parametrize(
    "extra,text",
    [
        (["--fp", "half"], "is not a comma-separated list of numbers"),
        (["--channel", "lab"], "Invalid value for '--channel'"),
        (["--max-db", "-3"], "must be a positive number"),
        (["--format", "xml"], "Invalid value for '--format'"),
    ],
)
def test_usage_errors_exit_2(runner, pair, extra, text):
    ref, test, regions = pair
    _one_line_error(
        runner.invoke(cli, ["score", str(ref), str(test), "--regions", str(regions), *extra]), 2, text
    )


def test_without_regions_the_centre_is_scored_and_said(runner, pair):
    ref, test, _ = pair  # was a usage error; newcomer finding 5 (tests/test_newcomer.py has the numbers)
    res = runner.invoke(cli, ["score", str(ref), str(test)])
    assert res.exit_code == 0 and res.stderr.startswith("note: no --regions") and "center" in res.stdout


def test_default_radius_options_change_the_radius(runner, pair):
    ref, test, regions = pair
    base = ["score", str(ref), str(test), "--regions", str(regions), "--format", "json"]
    r1 = json.loads(runner.invoke(cli, base).stdout)["regions"][1]["radius"]
    r2 = json.loads(runner.invoke(cli, [*base, "--viewing-distance", "6"]).stdout)["regions"][1]["radius"]
    r3 = json.loads(runner.invoke(cli, [*base, "--foveal-angle", "2.5"]).stdout)["regions"][1]["radius"]
    assert r2 == pytest.approx(2 * r1) and r3 < r1




def test_a_data_range_above_the_bit_depth_is_warned(tmp_path, rng):
    """Finding 18: --data-range 1023 on 8-bit files read 12 dB high without a word."""
    img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    write_image(tmp_path / "b.png", img // 2 * 2)
    (tmp_path / "r.json").write_text('{"width": 30, "height": 20, "regions": [{"center": [15, 10]}]}')
    args = ["score", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--regions", str(tmp_path / "r.json")]
    res = CliRunner().invoke(cli, [*args, "--data-range", "1023"])
    assert res.exit_code == 0 and "above the 8-bit range" in res.stderr and "12.07 dB high" in res.stderr
    assert "warning" not in CliRunner().invoke(cli, [*args, "--data-range", "255"]).stderr




def _pair_files(tmp_path, rng):
    img = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    write_image(tmp_path / "photo.png", img)
    write_image(tmp_path / "photo.jpg", img // 2 * 2)
    return tmp_path / "photo.png", tmp_path / "photo.jpg"




def test_score_without_regions_scores_the_centre_and_says_so(tmp_path, rng):
    """Finding 5: `fpsnr score a b` needed a regions file."""
    import fpsnr
    from fpsnr import Region

    ref, test = _pair_files(tmp_path, rng)
    res = CliRunner().invoke(cli, ["score", str(ref), str(test), "--format", "json"])
    assert res.exit_code == 0 and "note: no --regions" in res.stderr
    import json

    got = json.loads(res.stdout)
    want = fpsnr.score(fpsnr.read_image(ref), fpsnr.read_image(test), [Region((29.5, 19.5), label="center")])
    assert got["m_fpsnr"] == want.m_fpsnr and got["regions"][0]["label"] == "center"
    suggest = CliRunner().invoke(cli, ["score", str(ref), str(test), "--regions", "suggest"])
    assert suggest.exit_code == 0 and "note" not in suggest.stderr and "salient-1" in suggest.stdout




def test_a_regions_file_for_another_image_says_whose_it_is_and_how_to_reuse_it(tmp_path, rng):
    """Finding 4: 'no regions for image' did not say which image the file is for, nor the fix."""
    ref, test = _pair_files(tmp_path, rng)
    regions = tmp_path / "r.json"
    regions.write_text(
        '{"image": "kodim23.png", "width": 60, "height": 40, "regions": [{"center": [30, 20]}]}'
    )
    res = CliRunner().invoke(cli, ["score", str(ref), str(test), "--regions", str(regions)])
    assert res.exit_code == 1
    assert "holds the regions of kodim23.png, not of 'photo'" in res.stderr
    assert 'delete the file\'s "image" key or pass --regions-image kodim23' in res.stderr
    ok = CliRunner().invoke(cli, ["score", str(ref), str(test), "--regions", str(regions), "--regions-image",
                                  "kodim23"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    shown = CliRunner().invoke(cli, ["regions", "show", str(ref), str(regions), "--regions-image", "kodim23",
                                     "-o", str(tmp_path / "o.png")])  # fmt: skip
    assert shown.exit_code == 0, shown.output
    missing = CliRunner().invoke(cli, ["score", str(tmp_path / "nope.png"), str(test),
                                       "--regions", str(regions)])  # fmt: skip
    assert missing.exit_code == 1 and "nope.png: no such file" in missing.stderr  # the real problem first




def test_score_table_numbers_line_up(tmp_path, rng):
    """Finding 20: the M-FPSNR rows started one column left of the others."""
    ref, test = _pair_files(tmp_path, rng)
    res = CliRunner().invoke(cli, ["score", str(ref), str(test), "--fp", "0,0.25,0.5"])
    names = ("PSNR", "mean", "periphery", "M-FPSNR")
    rows = [line for line in res.stdout.splitlines() if " dB" in line and line.split()[0] in names]
    assert len(rows) == 6  # PSNR, mean F_PSNR, periphery PSNR, three M-FPSNR
    assert len({line.index(" dB") for line in rows}) == 1




def test_a_turned_pair_mentions_exif_and_exif_apply_scores_it(tmp_path, rng):
    """Finding 14: a phone photo's test image stored turned failed with a bare shape error."""
    yy, xx = np.mgrid[0:40, 0:60]
    upright = np.stack([xx * 4, yy * 6, (xx + yy) * 2], 2).astype(np.uint8)  # smooth: JPEG keeps it
    write_image(tmp_path / "ref.png", upright)
    stored = np.rot90(upright, 1)  # stored turned; orientation 6 says: turn 90° clockwise to view
    jpeg_with_orientation(np.ascontiguousarray(stored), 6, tmp_path / "test.jpg")
    args = ["score", str(tmp_path / "ref.png"), str(tmp_path / "test.jpg"), "--format", "json"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1 and "turned by 90°" in res.stderr and "--exif apply" in res.stderr
    ok = CliRunner().invoke(cli, [*args, "--exif", "apply"])
    assert ok.exit_code == 0, ok.output
    import json

    assert json.loads(ok.stdout)["psnr"] > 35  # the same picture once upright (JPEG q95)


def test_regions_scaled_to_another_size_are_said_on_stderr_and_equal_sizes_are_not(runner, tmp_path, rng):
    """Newcomer 2026-12 finding 7: another image's regions were scaled onto a crop in
    silence. Scaling is said, from what size to what size; a same-size pair says nothing."""
    img = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    write_image(tmp_path / "b.png", 255 - img)
    (tmp_path / "r.json").write_text('{"width": 192, "height": 128, "regions": [{"center": [96, 64]}]}')
    args = ["score", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--regions", str(tmp_path / "r.json")]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert res.stderr == (
        "note: regions written for 192×128 are scaled to this 96×64 image (×0.5); "
        "for a crop, write regions for the crop\n"
    )
    (tmp_path / "r.json").write_text('{"width": 96, "height": 64, "regions": [{"center": [48, 32]}]}')
    assert runner.invoke(cli, args).stderr == ""


def test_several_tests_in_one_call_and_each_planes_psnr_in_json(runner, tmp_path, rng):
    """Newcomer 2026-12 nice-to-haves: one test image per call; no per-channel PSNR."""
    from skimage.metrics import peak_signal_noise_ratio

    ref = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    tests = []
    for k in range(3):
        noisy = np.clip(ref.astype(int) + rng.integers(-8 * (k + 1), 8 * (k + 1) + 1, ref.shape), 0, 255)
        tests.append(tmp_path / f"t{k}.png")
        write_image(tests[-1], noisy.astype(np.uint8))
    write_image(tmp_path / "ref.png", ref)
    base = ["score", str(tmp_path / "ref.png")]
    together = runner.invoke(cli, [*base, *map(str, tests), "--format", "csv"])
    assert together.exit_code == 0, together.output
    alone = [runner.invoke(cli, [*base, str(t), "--format", "csv"]).stdout.splitlines() for t in tests]
    assert together.stdout.splitlines() == [alone[0][0], *(lines[1] for lines in alone)]
    data = json.loads(runner.invoke(cli, [*base, *map(str, tests), "--format", "json"]).stdout)
    assert [d["test"] for d in data] == list(map(str, tests))
    for item, test in zip(data, tests, strict=True):
        pixels = fpsnr.read_image(test)
        want = [peak_signal_noise_ratio(ref[:, :, c], pixels[:, :, c]) for c in range(3)]
        assert item["plane_psnr"] == pytest.approx(want, rel=1e-13)  # (exact sums here, numpy's mean there)
    luma = json.loads(runner.invoke(cli, [*base, str(tests[0]), "--format", "json", "--channel", "y"]).stdout)
    assert luma["plane_psnr"] == [luma["psnr"]]
    two = runner.invoke(cli, [*base, *map(str, tests[:2]), "--overlay", str(tmp_path / "o.png")])
    assert two.exit_code == 2 and "--overlay explains one score" in two.stderr


def test_one_region_is_said_in_the_singular(runner, tmp_path, rng):
    """Newcomer 2026-12 finding 18: '(1 regions)' in score tables."""
    img = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    write_image(tmp_path / "b.png", 255 - img)
    table = runner.invoke(cli, ["score", str(tmp_path / "a.png"), str(tmp_path / "b.png")]).stdout
    assert "(1 region)" in table and "(1 regions)" not in table
