"""How well `fpsnr regions suggest` agrees with the hand-made Kodak regions.

    python scripts/regions_agreement.py [--kodak ../shared/data/kodak] [--regions FOLDER]

For each image: hand centres H (the shipped Kodak regions) and suggestions S (at most as many as
the image has hand regions, and separately at most 5). A hand centre is *found* when a
suggestion lies within one default radius R of it; a suggestion is a *hit* when it
lies within R of a hand centre. Prints recall (found / |H|) and precision (hits / |S|)
over all 24 images, next to the same figures for uniformly random suggestions (mean
of 50 draws) and for the image centre alone, so the numbers have a floor to compare
with.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

import fpsnr
from fpsnr.regions.saliency import suggest_regions
from fpsnr.regions.shipped import kodak_regions

ROOT = Path(__file__).resolve().parents[1]


def agreement(hand: list[tuple[float, float]], sugg: list[tuple[float, float]], r: float) -> tuple[int, int]:
    found = sum(any(math.dist(h, s) <= r for s in sugg) for h in hand)
    hits = sum(any(math.dist(h, s) <= r for h in hand) for s in sugg)
    return found, hits


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--regions", type=Path, default=kodak_regions())
    args = parser.parse_args()
    if not (args.kodak / "kodim01.png").is_file():
        print(f"no Kodak images at {args.kodak}", file=sys.stderr)
        return 1
    rng = np.random.default_rng(0)
    names = ("suggest (n = hand)", "suggest (max 5)", "random (n = hand)", "centre only")
    totals = {k: [0.0, 0.0, 0.0, 0.0] for k in names}
    for path in sorted(args.kodak.glob("kodim*.png")):
        image = fpsnr.read_image(path)
        h, w = image.shape[:2]
        r = fpsnr.regions.default_radius(w, h)
        hand = [d[:2] for d in fpsnr.load_regions(args.regions / f"{path.stem}.json").resolve(w, h)]
        variants = {
            "suggest (n = hand)": [g.center for g in suggest_regions(image, max_regions=len(hand)).regions],
            "suggest (max 5)": [g.center for g in suggest_regions(image, max_regions=5).regions],
            "centre only": [((w - 1) / 2, (h - 1) / 2)],
        }
        for name, sugg in variants.items():
            found, hits = agreement(hand, sugg, r)
            totals[name][0] += found
            totals[name][1] += len(hand)
            totals[name][2] += hits
            totals[name][3] += len(sugg)
        draws = 50
        for _ in range(draws):
            sugg = [(rng.uniform(0, w - 1), rng.uniform(0, h - 1)) for _ in hand]
            found, hits = agreement(hand, sugg, r)
            t = totals["random (n = hand)"]
            t[0] += found / draws
            t[1] += len(hand) / draws
            t[2] += hits / draws
            t[3] += len(sugg) / draws
    print(f"{'proposal':22s} {'recall':>8s} {'precision':>10s}   (within one default radius, Kodak)")
    for name, (found, n_hand, hits, n_sugg) in totals.items():
        counts = f"({found:.0f}/{n_hand:.0f}, {hits:.0f}/{n_sugg:.0f})"
        print(f"{name:22s} {found / n_hand:8.1%} {hits / n_sugg:10.1%}   {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
