from __future__ import annotations

import csv
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fpsnr.images.io import write_image

SHARED = Path(__file__).resolve().parents[2] / "shared"
KODAK = SHARED / "data" / "kodak"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261126)


@pytest.fixture
def kodak_dir() -> Path:
    if not (KODAK / "kodim23.png").is_file():
        pytest.skip("../shared/data/kodak is not present (fresh clone)")
    return KODAK


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write_photos(folder: Path, rng: np.random.Generator, *, count: int, height: int, width: int) -> Path:
    """Smooth synthetic RGB photos with a little noise, written as PNG files 0.png, 1.png…"""
    from fpsnr.images.io import write_image

    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:height, 0:width]
    for i in range(count):
        img = np.stack([xx * 2 + 30 * i, yy * 2, (xx * yy) % 256], 2) + rng.integers(
            0, 25, (height, width, 3)
        )
        write_image(folder / f"{i}.png", np.clip(img, 0, 255).astype(np.uint8))
    return folder


def three_pairs(root: Path, rng: np.random.Generator) -> tuple[Path, Path]:
    """``root/ref`` and ``root/test`` with three 56×40 pairs a, b, c (test = ref quantised by 4)."""
    from fpsnr.images.io import write_image

    ref, test = root / "ref", root / "test"
    for folder in (ref, test):
        folder.mkdir()
    for name in ("a", "b", "c"):
        img = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
        write_image(ref / f"{name}.png", img)
        write_image(test / f"{name}.png", img // 4 * 4)
    return ref, test



REGIONS_1 = '{"width": %d, "height": %d, "regions": [{"center": [%g, %g], "radius": %g}]}'




def png_claiming(width: int, height: int, *, bit_depth: int = 8, colour: int = 2) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` (its pixel data is cut short)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )




def one_line_error(result, code: int = 1) -> str:
    """The result failed with ``code`` and exactly one line on stderr, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    progress = re.compile(r"^\w+: \d+/\d+ \w+ \(\d+ %\)")  # a log's progress lines are not errors
    lines = [line for line in result.stderr.strip("\n").splitlines() if not progress.match(line)]
    assert len(lines) == 1, result.stderr
    return lines[0]




@pytest.fixture
def pair(tmp_path, rng):
    ref = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    write_image(tmp_path / "ref.png", ref)
    write_image(tmp_path / "test.png", ref // 2 * 2)
    (tmp_path / "r.json").write_text(REGIONS_1 % (64, 48, 30, 20, 10))
    return tmp_path / "ref.png", tmp_path / "test.png", tmp_path / "r.json"




@pytest.fixture
def folders(tmp_path, rng):
    ref, test = three_pairs(tmp_path, rng)
    return ref, test, ["--missing-regions", "center", "--regions", "kodak", "-j", "1"]




def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8", errors="surrogateescape") as handle:
        return list(csv.DictReader(handle))


def jpeg_with_orientation(pixels, orientation, path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, quality=95, exif=exif.tobytes())
