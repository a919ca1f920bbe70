"""Region proposals for every frame of a video, smoothed over time so discs do not jump.

Each frame's luma plane gets the image proposals' fixation map (signature saliency × the
centre prior learned from human fixations, :func:`fpsnr.regions.proposals.fixation_density`);
the maps are averaged over frames with exponential forgetting — map_t = m · map_{t−1} +
(1 − m) · S_t, m the ``memory`` (0.8: a fixation pulled over about five frames) — and
proposals are the discs holding the most of the averaged map, as for images. A proposal keeps the label of
the previous frame's proposal nearest to it within one default radius (greedy, nearest
pairs first), so a label follows one object and its per-region pooled values mean
something; a proposal with no such neighbour gets a new label. ``memory`` 0 gives, frame
by frame, exactly the regions ``fpsnr regions suggest`` proposes for that frame's luma.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fpsnr.errors import ParameterError
from fpsnr.regions.model import Region, Regions, default_radius
from fpsnr.regions.proposals import fixation_density, regions_from_density

__all__ = ["DEFAULT_MEMORY", "DEFAULT_PROPOSALS", "SuggestedRegions"]

DEFAULT_MEMORY = 0.8
DEFAULT_PROPOSALS = 3
"""Proposals per frame: fewer than an image's five, so discs stay on the few things that hold the eye."""


class SuggestedRegions:
    """The proposals of each frame in turn (call :meth:`at` with frames in order)."""

    def __init__(
        self,
        *,
        max_regions: int = DEFAULT_PROPOSALS,
        memory: float = DEFAULT_MEMORY,
        viewing_distance: float,
        foveal_angle: float,
    ) -> None:
        if not (isinstance(memory, (int, float)) and 0.0 <= memory < 1.0):
            raise ParameterError(f"memory must be in [0, 1), got {memory!r}")
        self.max_regions = max_regions
        self.memory = float(memory)
        self.viewing_distance = viewing_distance
        self.foveal_angle = foveal_angle
        self._map: np.ndarray[Any, Any] | None = None
        self._previous: list[Region] = []
        self._labels = 0

    def at(self, y_plane: np.ndarray[Any, Any]) -> Regions:
        """The regions of the next frame, from its luma plane."""
        density = fixation_density(y_plane)
        if self._map is None or self.memory == 0:
            self._map = density
        else:
            self._map *= self.memory
            self._map += (1.0 - self.memory) * density
        height, width = y_plane.shape[:2]
        found = regions_from_density(
            self._map,
            width,
            height,
            max_regions=self.max_regions,
            viewing_distance=self.viewing_distance,
            foveal_angle=self.foveal_angle,
        )
        radius = default_radius(
            width, height, viewing_distance=self.viewing_distance, foveal_angle=self.foveal_angle
        )
        labelled = self._follow(list(found.regions), radius)
        self._previous = labelled
        return Regions(tuple(labelled), width=width, height=height)

    def _follow(self, proposals: list[Region], radius: float) -> list[Region]:
        pairs = sorted(
            (math.dist(p.center, q.center), i, j)
            for i, p in enumerate(proposals)
            for j, q in enumerate(self._previous)
        )
        labels: dict[int, str] = {}
        taken: set[int] = set()
        for distance, i, j in pairs:
            if distance <= radius and i not in labels and j not in taken:
                labels[i] = self._previous[j].label or ""
                taken.add(j)
        out = []
        for i, p in enumerate(proposals):
            if i not in labels:
                self._labels += 1
                labels[i] = f"salient-{self._labels}"
            out.append(Region(p.center, radius=p.radius, label=labels[i], strength=p.strength))
        return out
