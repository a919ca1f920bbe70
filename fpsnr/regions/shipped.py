"""Data that ships with fpsnr: the hand-placed foveal regions of the 24 Kodak images.

``kodak_regions()`` is the folder of ``kodim01.json … kodim24.json`` inside the installed
package (the protocol that made them is ``data/regions/README.md`` in the repository).
Everywhere a regions path is taken — ``--regions`` of every command,
:func:`fpsnr.load_region_index`, :func:`fpsnr.load_regions` — the bare name ``kodak``
(a ``str``, exactly that) means this folder, always: a file or folder called ``kodak``
in the working folder cannot capture it, so the examples ``batch kodak/ … --regions
kodak`` work with the images themselves in ``./kodak``. A local folder of that name is
reached as a path: ``./kodak`` or ``kodak/`` on the command line, a
:class:`pathlib.Path` in Python.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["REGION_SETS", "describe", "kodak_regions", "resolve_regions", "shipped_name"]

REGION_SETS = {"kodak": ("data", "regions", "kodak")}
"""Named regions sets shipped in the package, by the name a regions path may use."""


def _shipped(name: str) -> Path:
    from importlib import resources  # (3–5 ms with tempfile in -X importtime: only where a set is named)

    return Path(str(resources.files("fpsnr").joinpath(*REGION_SETS[name])))


def kodak_regions() -> Path:
    """The folder of the shipped Kodak regions files (``kodim01.json`` … ``kodim24.json``)."""
    return _shipped("kodak")


def shipped_name(path: str | os.PathLike[str]) -> str | None:
    """The shipped set that ``path`` names (a plain ``str`` equal to its name), else None."""
    return path if isinstance(path, str) and path in REGION_SETS else None


def resolve_regions(path: str | os.PathLike[str]) -> Path:
    """The shipped set a bare name names, else the path as given."""
    name = shipped_name(path)
    return _shipped(name) if name is not None else Path(path)


def describe(path: str | os.PathLike[str]) -> str:
    """How a regions path reads in messages: a shipped set says so, a local path is itself."""
    name = shipped_name(path)
    return f"{name} (the shipped {name} regions, {_shipped(name)})" if name is not None else str(path)
