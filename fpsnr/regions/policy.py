"""Regions for an image that has none: the missing-regions policy of batch and RD runs.

``"error"`` refuses the image; ``"center"`` scores one default-radius region at the
image centre (the single-focus F_PSNR of the prior art); ``"suggest"`` scores the
regions :func:`fpsnr.regions.proposals.suggest_regions` proposes for the reference (its
default method).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpsnr.errors import FpsnrError
from fpsnr.options import BatchOptions
from fpsnr.regions.model import Region, RegionIndex, Regions
from fpsnr.regions.proposals import suggest_regions

__all__ = ["fallback_regions", "regions_for_image"]


def fallback_regions(reference: Any, stem: str, options: BatchOptions) -> Regions:
    """Regions for an image that has none, by ``options.missing_regions``.

    Raises the error the ``"error"`` policy asks for.
    """
    if options.missing_regions == "error":
        raise FpsnrError(f"no regions for {stem}; add {stem}.json or use {{missing_regions}}")
    height, width = reference.shape[:2]
    if options.missing_regions == "suggest":
        return suggest_regions(
            reference, viewing_distance=options.viewing_distance, foveal_angle=options.foveal_angle
        )
    centre = Region(((width - 1) / 2, (height - 1) / 2), label="center")
    return Regions((centre,), width=width, height=height)


def regions_for_image(
    index: RegionIndex, image: str | Path, reference: Any, options: BatchOptions
) -> Regions:
    """The regions of ``image`` from an index keyed by file stem, or the policy's fallback."""
    stem = Path(image).stem
    return index.get(stem) or fallback_regions(reference, stem, options)
