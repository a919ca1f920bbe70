"""fpsnr.images.io: reading, writing and finding image files."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import fpsnr
import fpsnr.images.io
from fpsnr.cli import cli
from fpsnr.errors import ImageReadError
from fpsnr.images.io import find_images, read_image, write_image
from tests.conftest import REGIONS_1, jpeg_with_orientation, one_line_error, rows


def test_exif_orientation_matches_pillow_for_all_eight(tmp_path, rng):
    """Finding 14: EXIF orientation was never applied; `orient` is checked against Pillow's exif_transpose."""
    from PIL import Image, ImageOps

    from fpsnr.images.io import read_image

    pixels = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    for orientation in range(1, 9):
        path = tmp_path / f"o{orientation}.jpg"
        jpeg_with_orientation(pixels, orientation, path)
        want = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
        got = read_image(path, exif=True)
        assert got.shape == want.shape, orientation
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1, orientation  # same JPEG decode
        assert read_image(path).shape == (12, 20, 3)  # as stored without --exif apply




@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float64])
def test_tiff_of_any_dtype_is_read_and_refused_in_one_line(tmp_path, dtype, folders):
    """F3: cvtColor refused these depths with a traceback; now the metric says what it takes."""
    img = (np.arange(32 * 40 * 3).reshape(32, 40, 3) % 200).astype(dtype)
    path = tmp_path / "odd.tiff"
    assert cv2.imwrite(str(path), img[:, :, ::-1])
    read = read_image(path)
    assert read.dtype == dtype and np.array_equal(read, img)  # RGB order kept, any dtype
    (tmp_path / "odd.json").write_text(REGIONS_1 % (40, 32, 20, 16, 8))
    line = one_line_error(CliRunner().invoke(cli, ["score", str(path), str(path), "--regions",
                                                   str(tmp_path / "odd.json")]))  # fmt: skip
    assert ("unsupported image dtype" in line) if dtype != np.float64 else ("--data-range" in line)
    ref, test, opts = folders
    cv2.imwrite(str(ref / "d.tiff"), img)
    cv2.imwrite(str(test / "d.tiff"), img)
    out = tmp_path / "s.csv"
    CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "-o", str(out)])
    error = next(r["error"] for r in rows(out) if r["ref"].endswith("d.tiff"))
    assert error and "\n" not in error and len(error) < 200






def test_linked_folders_are_followed_and_unlistable_ones_refused(tmp_path, monkeypatch):
    """F16: a symlinked subfolder was skipped silently, an unreadable one with a wrong warning."""
    root, elsewhere = tmp_path / "ref", tmp_path / "elsewhere"
    (root / "plain").mkdir(parents=True)
    elsewhere.mkdir()
    write_image(root / "plain" / "a.png", np.zeros((4, 4), np.uint8))
    write_image(elsewhere / "b.png", np.zeros((4, 4), np.uint8))
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(root, target_is_directory=True)  # a loop must end
    found = find_images(root)
    assert sorted(found) == ["linked/b", "plain/a"]
    real = os.scandir

    def locked(path):
        if Path(path).name == "plain":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", locked)
    with pytest.raises(ImageReadError, match=r"plain: cannot list this folder \(Permission denied\)"):
        find_images(root)




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


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "int8", "int16", "int32", "float64"])
@pytest.mark.parametrize("channels", [3, 4])
def test_bgr_becomes_rgb_in_one_contiguous_copy_for_every_dtype(dtype, channels, rng):
    """OpenCV's conversion where it takes the dtype, a channel copy elsewhere: the same pixels."""
    from fpsnr.images.io import _rgb

    bgr = rng.integers(-100, 100, (7, 5, channels)).astype(dtype) if dtype[0] in "if" else (
        rng.integers(0, 200, (7, 5, channels)).astype(dtype))  # fmt: skip
    want = bgr[:, :, [2, 1, 0, 3][:channels]]
    got = _rgb(bgr)
    assert got.dtype == bgr.dtype and got.flags.c_contiguous and np.array_equal(got, want)
    assert np.shares_memory(got, bgr) is False


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".webp"])
def test_image_size_is_the_decoded_shape_without_decoding(tmp_path, suffix, monkeypatch):
    import cv2

    from fpsnr.images.io import image_size

    path = tmp_path / f"a{suffix}"
    write_image(path, np.zeros((37, 53, 3), np.uint8))
    want = read_image(path).shape[:2][::-1]
    monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("image_size decoded the pixels"))
    assert image_size(path) == want == (53, 37)
    (tmp_path / "b.png").write_bytes(b"not an image at all")
    with pytest.raises(fpsnr.errors.ImageReadError, match=r"b\.png: cannot decode as an image"):
        image_size(tmp_path / "b.png")
