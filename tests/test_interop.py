"""Outputs other tools read: batch as Parquet, RD rows as CompressAI's results JSON."""

from __future__ import annotations

import builtins
import importlib.util
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fpsnr.cli import cli
from fpsnr.images.io import write_image
from tests.conftest import three_pairs


@pytest.fixture
def folders(tmp_path, rng):
    ref, test = three_pairs(tmp_path, rng)
    write_image(test / "d.png", np.zeros((8, 8, 3), np.uint8))  # no reference: a warning
    write_image(ref / "d.png", np.zeros((9, 8, 3), np.uint8))  # a mismatched pair: an error row
    return ref, test, ["--missing-regions", "center", "--regions", "kodak", "-j", "1", "--fp", "0,0.5"]


def test_batch_writes_parquet_with_the_csv_numbers_and_resumes_it(folders, tmp_path):
    pytest.importorskip("pyarrow")
    ref, test, opts = folders
    runner = CliRunner()
    csv_out, csv_regions = tmp_path / "s.csv", tmp_path / "r.csv"
    runner.invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(csv_out),
                        "--regions-out", str(csv_regions)])  # fmt: skip
    out, regions = tmp_path / "s.parquet", tmp_path / "r.parquet"
    args = ["batch", str(ref), str(test), *opts, "-o", str(out), "--regions-out", str(regions),
            "--format", "parquet"]  # fmt: skip
    res = runner.invoke(cli, args)
    assert res.exit_code == 1 and "1 pair(s) failed" in res.stderr  # the mismatched pair, as with CSV
    for parquet, csv_file in ((out, csv_out), (regions, csv_regions)):
        got = pd.read_parquet(parquet)
        text = {"label": str, "error": str}
        want = pd.read_csv(csv_file, keep_default_na=False, na_values=[""], dtype=text)
        assert list(got.columns) == list(want.columns) and len(got) == len(want)
        for column in want.columns:
            if want[column].dtype.kind == "f" or got[column].dtype.kind in "fi":
                assert np.array_equal(got[column].astype(float), want[column].astype(float), equal_nan=True)
            else:
                assert list(got[column].fillna("")) == list(want[column].fillna(""))
    got = pd.read_parquet(out)
    assert str(got["width"].dtype) == "Int64" and got["psnr"].dtype == np.float64
    assert got["width"].isna().sum() == 2  # the failed pair's two Fp rows: no invented numbers
    before = got
    again = runner.invoke(cli, [*args, "--resume"])
    assert again.exit_code == 1 and "resuming: 4 pair(s) already scored" in again.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out), before)
    changed = runner.invoke(cli, [*args[:-2], "--resume"])  # the same run as CSV is other settings
    assert changed.exit_code == 1 and "other settings (format)" in changed.stderr


def test_parquet_without_pyarrow_is_one_line_before_any_work(folders, tmp_path, monkeypatch):
    ref, test, opts = folders
    real = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    res = CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(tmp_path / "s.parquet"),
                                   "--format", "parquet"])  # fmt: skip
    assert res.exit_code == 1
    expected = "Error: --format parquet needs pyarrow: pip install -e '.[parquet]' in the fpsnr checkout\n"
    assert res.stderr == expected
    assert not list(tmp_path.glob("s.parquet*"))


RD = """codec,rate_point,quality,image,width,height,bytes,bpp,psnr,mean_fpsnr,periphery_psnr,m_fpsnr_fp0.5,ms_ssim,encode_seconds,decode_seconds,error
jpeg,q10,10,a.png,8,8,10,0.3,25.0,24.0,26.0,25.0,0.9,0.01,0.02,
jpeg,q10,10,b.png,8,8,12,0.5,27.0,26.0,28.0,27.0,0.92,0.03,0.04,
jpeg,q50,50,a.png,8,8,30,1.0,33.0,32.0,34.0,33.0,0.97,0.01,0.02,
jpeg,q50,50,b.png,8,8,40,1.4,35.0,34.0,36.0,35.0,0.98,0.01,0.02,
jpeg,q90,90,a.png,8,8,90,3.0,40.0,39.0,41.0,40.0,0.99,0.01,0.02,
jpeg,q90,90,b.png,,,,,,,,,,,,cannot decode
webp,q50,50,a.png,8,8,20,0.8,34.0,33.0,35.0,34.0,0.97,0.01,0.02,
"""  # noqa: E501


def test_rd_rows_export_to_compressai_results_json(tmp_path):
    rd = tmp_path / "rd.csv"
    rd.write_text(RD)
    out = tmp_path / "results"
    res = CliRunner().invoke(cli, ["rd", "export", str(rd), "--compressai-json", str(out)])
    assert res.exit_code == 0, res.output
    assert "left out rate point(s) with failed images: q90" in res.stderr
    doc = json.loads((out / "jpeg.json").read_text())
    assert doc["name"] == "jpeg" and "mean over 2 images" in doc["description"]
    results = doc["results"]
    assert results["bpp"] == pytest.approx([0.4, 1.2]) and results["psnr-rgb"] == pytest.approx([26.0, 34.0])
    assert results["ms-ssim-rgb"] == pytest.approx([0.91, 0.975])
    assert results["m-fpsnr-fp0.5"] == pytest.approx([26.0, 34.0]) and results["mean-fpsnr"] == [25.0, 33.0]
    assert results["encoding_time"] == pytest.approx([0.02, 0.01]) and "quality" not in results
    assert json.loads((out / "webp.json").read_text())["results"]["bpp"] == [0.8]
    res = CliRunner().invoke(cli, ["rd", "export", str(rd), "--compressai-json", str(out), "--codec", "avif"])
    assert res.exit_code == 1 and "no rows for codec 'avif'; the file has jpeg, webp" in res.stderr


def test_rd_export_takes_several_csvs_a_prefix_and_refuses_collisions_and_existing_files(tmp_path):
    """Newcomer 2026-12 findings 13 and 9, reliability G27: one CSV only, names that clash
    with CompressAI's own, silent overwrites, and codecs x/y and x_y written to one file."""
    rd, more = tmp_path / "rd.csv", tmp_path / "more.csv"
    rd.write_text(RD)
    lines = RD.splitlines()

    def renamed(codec: str) -> str:  # the webp rows as another codec
        rows = [line.replace("webp,", f"{codec},", 1) for line in lines if line.startswith("webp")]
        return "\n".join([lines[0], *rows]) + "\n"

    more.write_text(renamed("x/y"))
    out = tmp_path / "results"
    base = ["rd", "export", str(rd), str(more), "--compressai-json", str(out)]
    res = CliRunner().invoke(cli, [*base, "--prefix", "fpsnr-"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["fpsnr-jpeg.json", "fpsnr-webp.json", "fpsnr-x_y.json"]
    assert json.loads((out / "fpsnr-x_y.json").read_text())["name"] == "fpsnr-x/y"
    again = CliRunner().invoke(cli, [*base, "--prefix", "fpsnr-"])
    assert again.exit_code == 1 and again.stderr.strip().endswith("exists; use --overwrite to replace it")
    assert CliRunner().invoke(cli, [*base, "--prefix", "fpsnr-", "--overwrite"]).exit_code == 0
    clash = tmp_path / "clash.csv"
    clash.write_text(renamed("x_y"))
    both = CliRunner().invoke(cli, ["rd", "export", str(more), str(clash),
                                    "--compressai-json", str(tmp_path / "c")])  # fmt: skip
    assert both.exit_code == 1 and "codecs 'x/y' and 'x_y' would both be written to" in both.stderr
    assert not (tmp_path / "c").exists()


@pytest.mark.skipif(importlib.util.find_spec("compressai") is None, reason="needs CompressAI (codec extra)")
def test_compressai_own_plotting_reads_the_export(tmp_path):
    rd = tmp_path / "rd.csv"
    rd.write_text(RD)
    out = tmp_path / "results"
    assert CliRunner().invoke(cli, ["rd", "export", str(rd), "--compressai-json", str(out)]).exit_code == 0
    figure = tmp_path / "plot.png"
    done = subprocess.run([sys.executable, "-m", "compressai.utils.plot", "-f", str(out / "jpeg.json"),
                           str(out / "webp.json"), "-m", "psnr-rgb", "-o", str(figure)],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert figure.stat().st_size > 10_000


def test_the_readme_conventions_hold_on_a_generated_pair(rng):
    """Studio-range Y reads exactly 20·log10(255/219) dB more; fpsnr's Y equals the naive formula."""
    from skimage.color import rgb2ycbcr

    import fpsnr
    from fpsnr.images.pairs import luma

    ref = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    test = np.clip(ref.astype(int) + rng.integers(-9, 10, ref.shape), 0, 255).astype(np.uint8)
    ours = fpsnr.psnr(ref, test, channel="y")
    naive = 10 * np.log10(255**2 / np.mean((luma(ref) - luma(test)) ** 2))
    studio = rgb2ycbcr(ref)[..., 0] - rgb2ycbcr(test)[..., 0]
    studio_psnr = 10 * np.log10(255**2 / np.mean(studio**2))
    assert ours == pytest.approx(naive, abs=1e-12)
    assert studio_psnr - ours == pytest.approx(20 * np.log10(255 / 219), abs=1e-9)


def test_the_compressai_preset_is_its_19_point_jpeg_sweep(tmp_path, rng):
    write_image(tmp_path / "a.png", rng.integers(0, 256, (176, 176, 3), dtype=np.uint8))  # MS-SSIM: > 160 px
    (tmp_path / "a.json").write_text('{"width": 176, "height": 176, "regions": [{"center": [88, 88]}]}')
    out = tmp_path / "rd.csv"
    res = CliRunner().invoke(cli, ["anchors", "--data", str(tmp_path), "--regions", str(tmp_path / "a.json"),
                                   "--preset", "compressai", "-o", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = pd.read_csv(out)
    assert set(rows["codec"]) == {"jpeg"} and sorted(rows["quality"]) == list(range(5, 100, 5))
    bad = CliRunner().invoke(cli, ["anchors", "--data", str(tmp_path), "--regions", str(tmp_path / "a.json"),
                                   "--preset", "compressai", "--codec", "webp", "-o", str(out)])  # fmt: skip
    assert bad.exit_code == 2 and "JPEG sweep" in bad.stderr
