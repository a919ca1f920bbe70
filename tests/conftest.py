from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

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
