"""Foveal regions: the model, the pixels of a disc, regions files and shipped sets, proposals.

:mod:`~fpsnr.regions.model` (regions, the default radius), :mod:`~fpsnr.regions.discs`
(exact disc masks), :mod:`~fpsnr.regions.regionfile` (JSON files, SPEC §2),
:mod:`~fpsnr.regions.shipped` (the Kodak set), :mod:`~fpsnr.regions.proposals` (proposals measured on human
fixations; :mod:`~fpsnr.regions.saliency` the spectral residual),
:mod:`~fpsnr.regions.policy` (images without regions), :mod:`~fpsnr.regions.overlay`
(pictures of regions and scores).
"""

from fpsnr.regions.model import Disc, Region, Regions, default_radius
from fpsnr.regions.regionfile import load_region_index, load_regions, parse_regions

__all__ = [
    "Disc",
    "Region",
    "Regions",
    "default_radius",
    "load_region_index",
    "load_regions",
    "parse_regions",
]
