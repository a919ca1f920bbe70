"""The bundled example: an image shipped with scikit-image against a JPEG copy of it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fpsnr.errors import ImageReadError
from fpsnr.images.io import read_image, write_image
from fpsnr.metrics import score_pair
from fpsnr.options import DEFAULT_FP, ScoreOptions
from fpsnr.regions.model import Regions
from fpsnr.regions.overlay import draw_regions
from fpsnr.regions.regionfile import parse_regions
from fpsnr.results import Score

__all__ = ["DemoResult", "demo_files", "example_regions", "run_demo"]


def example_regions() -> Regions:
    """The regions bundled for scikit-image's astronaut photo (face, patch, shuttle)."""
    text = resources.files("fpsnr").joinpath("data/astronaut.json").read_text(encoding="utf-8")
    return parse_regions(json.loads(text), source="fpsnr/data/astronaut.json")[0]


def _astronaut() -> npt.NDArray[np.uint8]:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class DemoResult:
    scores: tuple[Score, ...]
    files: dict[str, Path]


def demo_files(out_dir: str | os.PathLike[str], quality: int = 30) -> dict[str, Path]:
    """The files :func:`run_demo` writes into ``out_dir``, by role."""
    out = Path(out_dir)
    return {
        "reference": out / "astronaut.png",
        "test": out / f"astronaut-q{quality}.jpg",
        "regions": out / "astronaut.json",
        "overlay": out / "overlay.png",
    }


def run_demo(
    out_dir: str | os.PathLike[str], *, quality: int = 30, fps: tuple[float, ...] = (DEFAULT_FP,)
) -> DemoResult:
    """Write the example pair, its regions and overlay to ``out_dir`` and score it.

    The test image is a real JPEG file at ``quality`` read back from disk, so the demo
    exercises the same path as ``fpsnr score``.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ImageReadError(f"{out}: cannot create output folder ({err.strerror or err})") from err
    files = demo_files(out, quality)
    reference = _astronaut()
    write_image(files["reference"], reference)
    write_image(files["test"], reference, quality=quality)
    regions = example_regions()
    regions.dump(files["regions"])
    ref = read_image(files["reference"])
    test = read_image(files["test"])
    names = {"ref": str(files["reference"]), "test": str(files["test"])}
    scores = tuple(score_pair(ref, test, regions, ScoreOptions(fps=fps), **names))
    discs = regions.resolve(ref.shape[1], ref.shape[0])
    write_image(files["overlay"], draw_regions(test, discs))
    return DemoResult(scores=scores, files=files)
