"""fpsnr: foveal PSNR and M-FPSNR for image-compression research.

The public face is the names below; power tools stay importable from their modules
(:mod:`fpsnr.metrics` ``measure``/``Measurement``, :mod:`fpsnr.regions`,
:mod:`fpsnr.images`, :mod:`fpsnr.runs`), evaluation lives in :mod:`fpsnr.rd` and the
learned codec in :mod:`fpsnr.codec` (the ``codec`` extra). ``import fpsnr`` never imports
torch.

Each name is imported from its module on first use (PEP 562), so ``import fpsnr`` and a
command that needs only part of the package (``fpsnr video``, ``fpsnr --help``) do not
pay for the rest: ``from fpsnr import score`` and ``fpsnr.score`` work as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fpsnr._lazy import lazy_names
from fpsnr.errors import EmptyRegionError, FpsnrError, ImageError, ParameterError, RegionsError

if TYPE_CHECKING:
    from fpsnr.images.io import read_image
    from fpsnr.metrics import mse, psnr, region_psnr, score, score_pair
    from fpsnr.options import BatchOptions, ScoreOptions
    from fpsnr.regions.model import Region, Regions
    from fpsnr.regions.regionfile import load_region_index, load_regions
    from fpsnr.results import RegionScore, Score
    from fpsnr.runs.batch import score_folders

__version__ = "0.1.0"

_HOMES = {
    "read_image": "fpsnr.images.io",
    "mse": "fpsnr.metrics", "psnr": "fpsnr.metrics", "region_psnr": "fpsnr.metrics",
    "score": "fpsnr.metrics", "score_pair": "fpsnr.metrics",
    "BatchOptions": "fpsnr.options", "ScoreOptions": "fpsnr.options",
    "Region": "fpsnr.regions.model", "Regions": "fpsnr.regions.model",
    "load_region_index": "fpsnr.regions.regionfile", "load_regions": "fpsnr.regions.regionfile",
    "RegionScore": "fpsnr.results", "Score": "fpsnr.results",
    "score_folders": "fpsnr.runs.batch",
}  # fmt: skip

__getattr__, __dir__ = lazy_names(__name__, _HOMES)

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
