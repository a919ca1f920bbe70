"""fpsnr.limits: every size bounded before work starts (pixel budget, device files)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import fpsnr
import fpsnr.images.io
from fpsnr.cli import cli
from fpsnr.errors import ImageReadError
from fpsnr.images.io import read_image, write_image
from tests.conftest import one_line_error, png_claiming


def test_an_image_claiming_too_many_pixels_is_refused_from_its_header(tmp_path, monkeypatch):
    """F1, F2: no decoder runs, whatever the header claims; one line names the limit and the fix."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(100_000, 100_000))
    decoded = []
    monkeypatch.setattr(fpsnr.images.io.cv2, "imdecode", lambda *a: decoded.append(a))
    with pytest.raises(
        ImageReadError, match=r"100000×100000 = 10,000,000,000 pixels, more than the limit"
    ) as err:
        read_image(bomb)
    assert "raise the limit with FPSNR_MAX_PIXELS=10000000000" in str(err.value) and decoded == []
    bomb16 = tmp_path / "bomb16.png"  # 32768² 16-bit RGBA cost 8.4 GB and a traceback before
    bomb16.write_bytes(png_claiming(32768, 32768, bit_depth=16, colour=6))
    with pytest.raises(ImageReadError, match="more than the limit"):
        read_image(bomb16)
    assert decoded == []




def _tiff_claiming(path: Path, dtype: str, channels: int, width: int, height: int) -> np.ndarray:
    """A small TIFF of ``dtype`` samples, its directory then edited to claim ``width`` × ``height``."""
    import tifffile

    shape = (6, 8, channels) if channels > 1 else (6, 8)
    pixels = np.arange(np.prod(shape)).reshape(shape).astype(dtype) / 7
    tifffile.imwrite(path, pixels.astype(dtype), photometric="rgb" if channels == 3 else "minisblack")
    if (width, height) != (8, 6):
        with tifffile.TiffFile(path, mode="r+b") as tiff:
            tiff.pages[0].tags["ImageWidth"].overwrite(width)
            tiff.pages[0].tags["ImageLength"].overwrite(height)
    return pixels.astype(dtype)


@pytest.mark.parametrize(("dtype", "channels"), [("float32", 3), ("int32", 3), ("float64", 3), ("float64", 1),
                                                 ("int16", 3)])  # fmt: skip
def test_tiffs_pillow_cannot_parse_are_sized_from_their_directory(tmp_path, monkeypatch, dtype, channels):
    """G6: float/int32/float64 TIFFs went to OpenCV unsized: 14 kB claiming 20000² took 9.4 GB."""
    from PIL import Image

    small = tmp_path / "small.tif"
    pixels = _tiff_claiming(small, dtype, channels, 8, 6)
    with pytest.raises(Exception):  # noqa: B017 - the premise: Pillow cannot open these
        Image.open(small).size  # noqa: B018
    np.testing.assert_array_equal(read_image(small), pixels)  # read, at the size its directory says
    bomb = tmp_path / "bomb.tif"
    _tiff_claiming(bomb, dtype, channels, 20000, 20000)
    decoded = []
    monkeypatch.setattr(fpsnr.images.io.cv2, "imdecode", lambda *a: decoded.append(a))
    with pytest.raises(ImageReadError, match=r"bomb.tif: 20000×20000 = 400,000,000 pixels, more than"):
        read_image(bomb)
    assert decoded == []


def test_radiance_hdr_is_sized_from_its_header_under_any_name(tmp_path, monkeypatch):
    """G6: OpenCV sniffs HDR content under any extension; Pillow cannot size it."""
    import cv2

    pixels = np.linspace(0.01, 4, 5 * 7 * 3, dtype=np.float32).reshape(5, 7, 3)
    hdr = tmp_path / "x.hdr"
    assert cv2.imwrite(str(hdr), pixels)
    named_png = tmp_path / "looks.png"
    named_png.write_bytes(hdr.read_bytes())
    assert fpsnr.images.io._header_size(named_png.read_bytes()) == (7, 5)
    assert read_image(named_png).shape == (5, 7, 3)
    data = hdr.read_bytes()
    assert b"\n-Y 5 +X 7\n" in data
    turned = data.replace(b"\n-Y 5 +X 7\n", b"\n+X 7 -Y 5\n")  # X first: the same size
    assert fpsnr.images.io._header_size(turned) == (7, 5)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(data.replace(b"\n-Y 5 +X 7\n", b"\n-Y 20000 +X 20000\n"))
    decoded = []
    monkeypatch.setattr(fpsnr.images.io.cv2, "imdecode", lambda *a: decoded.append(a))
    with pytest.raises(ImageReadError, match=r"bomb.png: 20000×20000 = 400,000,000 pixels, more than"):
        read_image(bomb)
    unsized = tmp_path / "unsized.png"
    unsized.write_bytes(data.replace(b"\n-Y 5 +X 7\n", b"\n-Y five +X 7\n"))
    with pytest.raises(ImageReadError, match=r"unsized.png: cannot decode as an image .*no size in its"):
        read_image(unsized)
    assert decoded == []


def test_the_pixel_budget_is_an_option_and_an_environment_variable(pair, monkeypatch):
    ref, test, regions = pair
    monkeypatch.setenv("FPSNR_MAX_PIXELS", "")  # the CLI option sets it: restored after the test
    runner = CliRunner()
    line = one_line_error(runner.invoke(cli, ["--max-pixels", "1000", "score", str(ref), str(test),
                                              "--regions", str(regions)]))  # fmt: skip
    assert "64×48 = 3,072 pixels, more than the limit of 1,000" in line and "--max-pixels 3072" in line
    monkeypatch.setenv("FPSNR_MAX_PIXELS", "3072")  # exactly enough
    assert runner.invoke(cli, ["score", str(ref), str(test), "--regions", str(regions)]).exit_code == 0
    monkeypatch.setenv("FPSNR_MAX_PIXELS", "lots")
    assert "FPSNR_MAX_PIXELS='lots'" in one_line_error(
        runner.invoke(cli, ["score", str(ref), str(test), "--regions", str(regions)])
    )




def test_a_size_mismatch_is_found_from_the_headers_before_decoding(tmp_path, monkeypatch):
    """F2: the shape check needs only the headers; a huge test image is never decoded."""
    write_image(tmp_path / "ref.png", np.zeros((48, 64, 3), np.uint8))
    (tmp_path / "big.png").write_bytes(png_claiming(20000, 15000))
    calls = []
    real = fpsnr.images.io.cv2.imdecode
    monkeypatch.setattr(fpsnr.images.io.cv2, "imdecode", lambda *a: calls.append(1) or real(*a))
    with pytest.raises(fpsnr.ImageError, match="test image is 20000×15000 pixels; the reference is 64×48"):
        fpsnr.images.io.read_pair(tmp_path / "ref.png", tmp_path / "big.png")
    assert calls == []




@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_device_files_are_read_with_a_bound(pair, monkeypatch):
    """F28: st_size is 0 for devices; the reads are counted instead."""
    ref, test, _ = pair
    line = one_line_error(CliRunner().invoke(cli, ["score", str(ref), str(test), "--regions", "/dev/zero"]))
    assert "larger than the 67108864-byte limit" in line
    # an image is a regular file: a device is refused before a byte is read (reliability G22;
    # it used to be read up to the byte cap, 4.3 GB)
    with pytest.raises(ImageReadError, match="/dev/zero: is a device, expected an image file"):
        read_image("/dev/zero")


def test_an_image_that_is_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path, pair):
    """G22: opening a FIFO blocks until someone writes; the check must not."""
    ref, _, _ = pair
    fifo = tmp_path / "piped.png"
    os.mkfifo(fifo)
    res = subprocess.run([sys.executable, "-m", "fpsnr", "score", str(ref), str(fifo)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1].endswith("is a pipe (FIFO), expected an image file; "
                                                        "save what it holds to a file first")


def test_a_file_larger_than_any_image_within_the_budget_is_refused_before_decoding(tmp_path, monkeypatch):
    monkeypatch.setenv("FPSNR_MAX_PIXELS", "1000")  # an image read is bounded by the pixel budget
    big = tmp_path / "big.png"
    big.write_bytes(bytes(2 << 20))
    with pytest.raises(ImageReadError, match="larger than any image within the pixel limit"):
        read_image(big)
