"""Fit the centre prior of `fpsnr regions suggest` on human eye fixations.

    python scripts/fit_fixation_prior.py [--fixations ../shared/data/fixations] [--out FILE]

(``FILE`` defaults to ``fpsnr/data/fixation_prior.json``.)

Reads ``fixations.csv`` (``image,width,height,subject,order,x,y,…``: the NUS scene set's
fixations of 12 free-viewing observers), leaves out each observer's first fixation (the
central cross every trial starts on), and writes the mean fixation density over the scenes
(:func:`fpsnr.regions.proposals.fit_fixation_prior`: 32 × 32 cells over normalised
coordinates, each scene weighted equally, smoothed by 1.5 cells, peak 1) with 4 decimals.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from fpsnr.regions.annotations import read_fixation_csv
from fpsnr.regions.proposals import PRIOR_BLUR, PRIOR_SIDE, fit_fixation_prior

ROOT = Path(__file__).resolve().parents[1]


def read_fixations(folder: Path) -> dict[str, tuple[int, int, np.ndarray]]:
    """Per image, by name: (width, height, fixations without each observer's first), in file order."""
    found = read_fixation_csv(folder / "fixations.csv", drop_first=True)
    scenes = {}
    for name, (points, _, size) in sorted(found.items()):
        assert size is not None  # the file has width and height columns
        scenes[name] = (*size, points)
    return scenes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixations", type=Path, default=ROOT.parent / "shared" / "data" / "fixations")
    parser.add_argument("--out", type=Path, default=ROOT / "fpsnr" / "data" / "fixation_prior.json")
    args = parser.parse_args()
    if not (args.fixations / "fixations.csv").is_file():
        print(f"no fixations.csv in {args.fixations}", file=sys.stderr)
        return 1
    scenes = read_fixations(args.fixations)
    table = fit_fixation_prior(scenes.values())
    record = {
        "note": (
            "Centre prior of fpsnr regions suggest: mean fixation density of the NUS eye-tracking "
            "scenes (first fixation of each observer left out), over normalised coordinates, "
            "rows top to bottom; made by scripts/fit_fixation_prior.py"
        ),
        "source": "NUS scene saliency eye-tracking data, MIT licence, copyright (c) 2015 Haoran Liang",
        "scenes": len(scenes),
        "fixations": int(sum(len(p) for _, _, p in scenes.values())),
        "side": PRIOR_SIDE,
        "blur_cells": PRIOR_BLUR,
        "values": [[round(float(v), 4) for v in row] for row in table],
    }
    args.out.write_text(json.dumps(record, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(scenes)} scenes, {record['fixations']} fixations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
