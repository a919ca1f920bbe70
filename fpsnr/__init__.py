"""fpsnr: foveal PSNR and M-FPSNR for image-compression research.

The public face is the names below; power tools stay importable from their modules
(:mod:`fpsnr.metrics` ``measure``/``Measurement``, :mod:`fpsnr.regions`,
:mod:`fpsnr.images`, :mod:`fpsnr.runs`), evaluation lives in :mod:`fpsnr.rd` and the
learned codec in :mod:`fpsnr.codec` (the ``codec`` extra). ``import fpsnr`` never imports
torch.
"""

from __future__ import annotations

from fpsnr.errors import EmptyRegionError, FpsnrError, ImageError, ParameterError, RegionsError
from fpsnr.images.io import read_image
from fpsnr.metrics import mse, psnr, region_psnr, score, score_pair
from fpsnr.options import BatchOptions, ScoreOptions
from fpsnr.regions.model import Region, Regions
from fpsnr.regions.regionfile import load_region_index, load_regions
from fpsnr.results import RegionScore, Score
from fpsnr.runs.batch import score_folders

__version__ = "0.1.0"

__all__ = [
    "BatchOptions",
    "EmptyRegionError",
    "FpsnrError",
    "ImageError",
    "ParameterError",
    "Region",
    "RegionScore",
    "Regions",
    "RegionsError",
    "Score",
    "ScoreOptions",
    "__version__",
    "load_region_index",
    "load_regions",
    "mse",
    "psnr",
    "read_image",
    "region_psnr",
    "score",
    "score_folders",
    "score_pair",
]
