"""Data that ships with fpsnr: the hand-placed foveal regions of the 24 Kodak images.

``kodak_regions()`` is the folder of ``kodim01.json … kodim24.json`` inside the installed
package (the protocol that made them is ``data/regions/README.md`` in the repository).
Everywhere a regions path is taken — ``--regions`` of every command,
:func:`fpsnr.load_region_index`, :func:`fpsnr.load_regions` — the name ``kodak`` means this
folder, unless a file or folder called ``kodak`` exists where the path points: a real
path always wins.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["REGION_SETS", "kodak_regions", "resolve_regions"]

REGION_SETS = {"kodak": ("data", "regions", "kodak")}
"""Named regions sets shipped in the package, by the name a regions path may use."""


def _shipped(name: str) -> Path:
    return Path(str(resources.files("fpsnr").joinpath(*REGION_SETS[name])))


def kodak_regions() -> Path:
    """The folder of the shipped Kodak regions files (``kodim01.json`` … ``kodim24.json``)."""
    return _shipped("kodak")


def resolve_regions(path: str | os.PathLike[str]) -> Path:
    """A regions path as given, or the shipped set it names when no such path exists."""
    p = Path(path)
    if not p.exists() and str(path) in REGION_SETS:
        return _shipped(str(path))
    return p
