"""Pairing reference and test images by relative path and stem, never by sort order.

Every image under the reference folder (recursively) is paired with the file of the
same relative path and stem, any image extension, in each test folder. A pair that
cannot be scored (no counterpart, several candidates) is still a task, with its
``problem`` set, so it becomes an error row rather than a silent gap.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fpsnr.errors import ParameterError
from fpsnr.images.io import IMAGE_EXTENSIONS, find_images
from fpsnr.regions.model import RegionIndex, Regions

__all__ = ["PairTask", "plan_pairs"]


@dataclass(frozen=True)
class PairTask:
    """One (label, reference) pair to score; ``problem`` set when it cannot be scored."""

    label: str
    ref: str
    test: str
    regions: Regions | None
    problem: str | None = None
    folder: str | None = None
    """The folder relative ``ref`` and ``test`` are read from when it is not the current
    one: a Dask worker runs elsewhere (reliability G16); rows keep the names as written."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.label, self.ref)

    def file(self, name: str) -> str:
        """``name`` (``ref`` or ``test``) as the path to read."""
        return os.path.join(self.folder, name) if self.folder else name


def plan_pairs(
    ref_dir: str | os.PathLike[str],
    test_dirs: Sequence[str | os.PathLike[str]],
    regions: Regions | RegionIndex | None,
    *,
    labels: Sequence[str] | None = None,
) -> tuple[list[PairTask], list[str]]:
    """Pair every reference image with its counterpart in each test folder.

    Returns the tasks, in a stable order, and warnings (unmatched test files). A
    reference without a test counterpart, or with several (``x.png`` and ``x.jpg``),
    becomes a task with ``problem`` set, which turns into an error row.
    """
    ref_root = Path(ref_dir)
    refs = find_images(ref_root)
    if not refs:
        raise ParameterError(f"{ref_root}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)})")
    names = list(labels) if labels else [Path(d).resolve().name for d in test_dirs]
    if len(names) != len(test_dirs):
        raise ParameterError(
            f"got {len(names)} labels for {len(test_dirs)} test folders; give one per folder"
        )
    if len(set(names)) != len(names):
        raise ParameterError(
            f"test folders share the label {sorted(n for n in names if names.count(n) > 1)[0]!r}; "
            "name them with {label}"
        )
    tasks: list[PairTask] = []
    warnings: list[str] = []
    for label, test_dir in zip(names, test_dirs, strict=True):
        tests = find_images(test_dir)
        for key in sorted(refs):
            for ref_path in refs[key]:
                ref_regions = _regions_for(regions, Path(key).name)
                candidates = tests.get(key, [])
                if len(refs[key]) > 1:
                    problem = (
                        f"several reference files share the stem {key!r} "
                        f"({', '.join(p.name for p in refs[key])}); keep one"
                    )
                    test = str(candidates[0]) if len(candidates) == 1 else ""
                elif not candidates:
                    problem = f"no test image {key}.* in {test_dir}"
                    test = ""
                elif len(candidates) > 1:
                    problem = f"several test images match {key}: {', '.join(p.name for p in candidates)}"
                    test = ""
                else:
                    problem = None
                    test = str(candidates[0])
                tasks.append(PairTask(label, str(ref_path), test, ref_regions, problem))
        for key in sorted(set(tests) - set(refs)):
            for path in tests[key]:
                warnings.append(f"{path}: no reference image {key}.* in {ref_root}; not scored")
    return tasks, warnings


def _regions_for(regions: Regions | RegionIndex | None, stem: str) -> Regions | None:
    if regions is None:
        return None
    if isinstance(regions, Regions):
        return regions
    return regions.get(stem)
