"""fpsnr: foveal PSNR and M-FPSNR for image-compression research.

The core (metrics, regions, images, command-line score/batch) never imports torch; the
learned codec lives in :mod:`fpsnr.codec` behind the ``codec`` extra.
"""

from __future__ import annotations

from fpsnr.batch import BatchResult, score_folders
from fpsnr.errors import (
    EmptyRegionError,
    FpsnrError,
    ImageError,
    ImageReadError,
    ParameterError,
    RegionsError,
)
from fpsnr.images import find_images, prepare_pair, read_image
from fpsnr.metrics import (
    Measurement,
    disc_mask,
    measure,
    mse,
    psnr,
    psnr_from_mse,
    region_mse,
    region_psnr,
    score,
    score_pair,
    sweep,
)
from fpsnr.options import DEFAULT_FP, SWEEP_FPS, BatchOptions, ScoreOptions
from fpsnr.regions import (
    Disc,
    Region,
    Regions,
    default_radius,
    load_region_index,
    load_regions,
    parse_regions,
)
from fpsnr.results import RegionScore, Score

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_FP",
    "SWEEP_FPS",
    "BatchOptions",
    "BatchResult",
    "Disc",
    "EmptyRegionError",
    "FpsnrError",
    "ImageError",
    "ImageReadError",
    "Measurement",
    "ParameterError",
    "Region",
    "RegionScore",
    "Regions",
    "RegionsError",
    "Score",
    "ScoreOptions",
    "__version__",
    "default_radius",
    "disc_mask",
    "find_images",
    "load_region_index",
    "load_regions",
    "measure",
    "mse",
    "parse_regions",
    "prepare_pair",
    "psnr",
    "psnr_from_mse",
    "read_image",
    "region_mse",
    "region_psnr",
    "score",
    "score_folders",
    "score_pair",
    "sweep",
]
