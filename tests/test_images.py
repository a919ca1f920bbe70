"""Reading real image files through OpenCV."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import fpsnr
from fpsnr.errors import ImageReadError
from fpsnr.images.io import write_image


def test_png_round_trip_is_rgb(tmp_path, rng):
    img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), img[:, :, ::-1])  # OpenCV writes BGR
    assert np.array_equal(fpsnr.read_image(tmp_path / "a.png"), img)


def test_write_image_round_trip(tmp_path, rng):
    img = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    write_image(tmp_path / "b.png", img)
    assert np.array_equal(fpsnr.read_image(tmp_path / "b.png"), img)


def test_16bit_png_keeps_its_depth(tmp_path, rng):
    img = rng.integers(0, 65536, (8, 8, 3), dtype=np.uint16)
    write_image(tmp_path / "c.png", img)
    back = fpsnr.read_image(tmp_path / "c.png")
    assert back.dtype == np.uint16 and np.array_equal(back, img)


def test_gray_and_rgba(tmp_path, rng):
    gray = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    write_image(tmp_path / "g.png", gray)
    assert fpsnr.read_image(tmp_path / "g.png").shape == (8, 8)
    rgba = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
    write_image(tmp_path / "a.png", rgba)
    assert np.array_equal(fpsnr.read_image(tmp_path / "a.png"), rgba)


def test_float_tiff(tmp_path, rng):
    img = rng.random((8, 8, 3)).astype(np.float32)
    write_image(tmp_path / "f.tiff", img)
    back = fpsnr.read_image(tmp_path / "f.tiff")
    assert back.dtype == np.float32 and np.allclose(back, img)


def test_jpeg_is_read(tmp_path, rng):
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    write_image(tmp_path / "j.jpg", img, quality=90)
    assert fpsnr.read_image(tmp_path / "j.jpg").shape == (16, 16, 3)


def test_missing_folder_empty_and_non_image(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        fpsnr.read_image(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match="is a folder"):
        fpsnr.read_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="file is empty"):
        fpsnr.read_image(tmp_path / "empty.png")
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ImageReadError, match="cannot decode"):
        fpsnr.read_image(tmp_path / "notes.png")


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_truncated_file_is_an_error(tmp_path, rng, ext):
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    write_image(tmp_path / f"t{ext}", img)
    data = (tmp_path / f"t{ext}").read_bytes()
    (tmp_path / f"t{ext}").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="truncated, corrupt or not an image"):
        fpsnr.read_image(tmp_path / f"t{ext}")
