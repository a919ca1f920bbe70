"""The yardstick of region proposals: how many human fixations their discs hold.

    python scripts/fixation_agreement.py [--fixations DIR] [--kodak DIR] [--limit N] [--draws 2000]

(``DIR`` defaults: ``../shared/data/fixations`` and ``../shared/data/kodak``.)

For every proposal method: **capture@k**, the share of all fixations (each observer's
first, the central cross, left out) that fall inside the method's first k discs, every
disc at the default radius of its image (SPEC §1), pooled over the scenes, with a 95 %
bootstrap interval (scenes resampled); the time per image of the proposal alone (not the
decoding); and, on Kodak, the recall and precision against the hand-placed centres
within one default radius (``scripts/regions_agreement.py``'s rule, at most as many
proposals as hand regions). For scale: the image centre alone, and a greedy oracle
that places each disc on the fixations themselves; and ``fpsnr regions from-fixations``,
which makes regions from the fixations (not a proposal: it sees them).

The ``signature`` method's centre prior is fitted on these same scenes; its row with
"two-fold" refits the prior on the other half of the scenes for each half (odd and even
positions), the honest estimate for scenes it has not seen. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

import fpsnr
from fpsnr.regions.annotations import regions_from_points
from fpsnr.regions.proposals import (
    fit_fixation_prior,
    fixation_density,
    regions_from_density,
    suggest_regions,
)
from fpsnr.regions.shipped import kodak_regions

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_fixation_prior import read_fixations
from regions_agreement import agreement

ROOT = Path(__file__).resolve().parents[1]
KS = (1, 3, 5)
Method = Callable[[np.ndarray], list[tuple[float, float]]]


def centres(regions: fpsnr.Regions) -> list[tuple[float, float]]:
    return [r.center for r in regions.regions]


def gaussian_prior(image: np.ndarray, sigma: float = 0.25) -> np.ndarray:
    """A generic centre prior (σ a share of width and height) at the proposals' work size."""
    from fpsnr.regions.proposals import work_size

    w, h = work_size(image.shape[1], image.shape[0])
    ys = (np.arange(h) + 0.5) / h - 0.5
    xs = (np.arange(w) + 0.5) / w - 0.5
    return np.exp(-(xs[None, :] ** 2 + ys[:, None] ** 2) / (2 * sigma**2))


def _faces_first(image: np.ndarray) -> list[tuple[float, float]]:
    """Rejected: OpenCV's frontal-face Haar cascade, each face first, then the default method."""
    gray = (
        cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    )
    cascade = _cascade()
    side = max(12, min(gray.shape) // 30)
    faces = cascade.detectMultiScale(gray, 1.1, 5, minSize=(side, side)) if cascade is not None else ()
    found = [(x + w / 2, y + h / 2) for x, y, w, h in sorted(faces, key=lambda f: -f[2] * f[3])]
    return (found + centres(suggest_regions(image)))[:5]


_CASCADES: list[cv2.CascadeClassifier | None] = []


def _cascade() -> cv2.CascadeClassifier | None:
    if not _CASCADES:
        folder = getattr(getattr(cv2, "data", None), "haarcascades", None)  # OpenCV 5 wheels ship none
        _CASCADES.append(
            cv2.CascadeClassifier(folder + "haarcascade_frontalface_default.xml") if folder else None
        )
    return _CASCADES[0]


def methods(prior: np.ndarray | None = None) -> dict[str, Method]:
    """Every method measured, by name; ``prior`` replaces the shipped centre prior."""

    def signature(image: np.ndarray) -> list[tuple[float, float]]:
        h, w = image.shape[:2]
        return centres(regions_from_density(fixation_density(image, prior=prior), w, h))

    def with_map(make: Callable[[np.ndarray], np.ndarray]) -> Method:
        return lambda image: centres(regions_from_density(make(image), image.shape[1], image.shape[0]))

    from fpsnr.regions.proposals import fixation_prior, signature_saliency

    def prior_alone(image: np.ndarray) -> np.ndarray:
        return fixation_prior(image.shape[1], image.shape[0], table=prior)

    def signature_gaussian(image: np.ndarray) -> np.ndarray:
        return signature_saliency(image) * gaussian_prior(image)

    return {
        "signature × learned prior (default)": signature,
        "signature × Gaussian prior σ = 0.25": with_map(signature_gaussian),
        "learned prior alone": with_map(prior_alone),
        "spectral residual (default until 2026-12)": lambda im: centres(
            suggest_regions(im, method="spectral-residual")
        ),
        "faces first (Haar), then the default (rejected)": _faces_first,
    }  # fmt: skip


def oracle(points: np.ndarray, radius: float, k: int = 5) -> list[tuple[float, float]]:
    """Greedy: each disc on the fixation whose disc holds the most fixations not yet held."""
    left = np.ones(len(points), dtype=bool)
    chosen: list[tuple[float, float]] = []
    d2 = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2) <= radius * radius
    for _ in range(k):
        gains = (d2 & left[None, :]).sum(axis=1)
        best = int(np.argmax(gains))
        chosen.append((float(points[best, 0]), float(points[best, 1])))
        left &= ~d2[best]
    return chosen


def held(points: np.ndarray, discs: list[tuple[float, float]], radius: float) -> list[int]:
    """Fixations inside the first k discs, for each k in KS."""
    inside = np.zeros(len(points), dtype=bool)
    out = []
    for k in range(1, max(KS) + 1):
        if k <= len(discs):
            x, y = discs[k - 1]
            inside |= (points[:, 0] - x) ** 2 + (points[:, 1] - y) ** 2 <= radius * radius
        if k in KS:
            out.append(int(inside.sum()))
    return out


def interval(
    hits: np.ndarray, totals: np.ndarray, rng: np.random.Generator, draws: int
) -> tuple[float, float]:
    """95 % bootstrap interval of Σ hits / Σ totals, scenes resampled with replacement."""
    picks = rng.integers(0, len(totals), size=(draws, len(totals)))
    shares = hits[picks].sum(axis=1) / totals[picks].sum(axis=1)
    low, high = np.percentile(shares, [2.5, 97.5])
    return float(low), float(high)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixations", type=Path, default=ROOT.parent / "shared" / "data" / "fixations")
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--limit", type=int, default=0, help="only the first N scenes (a quick look)")
    parser.add_argument("--draws", type=int, default=2000, help="bootstrap resamples")
    args = parser.parse_args()
    if not (args.fixations / "fixations.csv").is_file():
        print(f"no fixations.csv in {args.fixations}", file=sys.stderr)
        return 1
    scenes = read_fixations(args.fixations)
    names = sorted(scenes)[: args.limit or None]
    images = {n: fpsnr.read_image(args.fixations / "images" / n) for n in names}
    halves = [names[0::2], names[1::2]]
    fits = [fit_fixation_prior(scenes[m] for m in halves[1 - k]) for k in (0, 1)]
    folds = {n: fits[k] for k, half in enumerate(halves) for n in half}
    table = methods()
    two_fold, centre, best, clusters = (
        "signature, prior fitted on the other half (two-fold)",
        "image centre",
        "oracle on the fixations",
        "regions from-fixations (discs from the fixations themselves)",
    )
    rows: dict[str, list[list[int]]] = {name: [] for name in (*table, two_fold, centre, best, clusters)}
    seconds = dict.fromkeys(rows, 0.0)
    totals = []
    for n in names:
        width, height, points = scenes[n]
        image = images[n]
        radius = fpsnr.regions.default_radius(width, height)
        totals.append(len(points))
        for name in rows:
            start = time.perf_counter()
            if name == two_fold:
                discs = methods(folds[n])["signature × learned prior (default)"](image)
            elif name == centre:
                discs = [((width - 1) / 2, (height - 1) / 2)]
            elif name == best:
                discs = oracle(points, radius)
            elif name == clusters:
                discs = centres(regions_from_points(points, width, height))
            else:
                discs = table[name](image)
            seconds[name] += time.perf_counter() - start
            rows[name].append(held(points, discs, radius))
    kodak = _kodak(args.kodak, table)
    rng = np.random.default_rng(0)
    total = np.asarray(totals)
    print(f"{len(names)} scenes, {total.sum()} fixations; capture@k with 95 % bootstrap intervals "
          f"({args.draws} draws)\n")  # fmt: skip
    print("| method | capture@1 | capture@3 | capture@5 | ms / image | Kodak recall | Kodak precision |")
    print("|---|---|---|---|---|---|---|")
    for name, per in rows.items():
        hits = np.asarray(per)
        cells = []
        for j in range(len(KS)):
            low, high = interval(hits[:, j], total, rng, args.draws)
            cells.append(f"{hits[:, j].sum() / total.sum():.1%} ({low:.1%}–{high:.1%})")
        ms = 1000 * seconds[name] / len(names)
        recall, precision = kodak.get(name, ("–", "–"))
        print(f"| {name} | {' | '.join(cells)} | {ms:.1f} | {recall} | {precision} |")
    return 0


def _kodak(folder: Path, table: dict[str, Method]) -> dict[str, tuple[str, str]]:
    """Recall and precision against the shipped hand centres, proposals cut to the hand count."""
    if not (folder / "kodim01.png").is_file():
        return {}
    counts = {name: [0, 0, 0, 0] for name in (*table, "image centre")}
    for path in sorted(folder.glob("kodim*.png")):
        image = fpsnr.read_image(path)
        h, w = image.shape[:2]
        r = fpsnr.regions.default_radius(w, h)
        hand = [d[:2] for d in fpsnr.load_regions(kodak_regions() / f"{path.stem}.json").resolve(w, h)]
        for name in counts:
            sugg = [((w - 1) / 2, (h - 1) / 2)] if name == "image centre" else table[name](image)[: len(hand)]
            found, hits = agreement(hand, sugg, r)
            c = counts[name]
            c[0], c[1], c[2], c[3] = c[0] + found, c[1] + len(hand), c[2] + hits, c[3] + len(sugg)
    return {
        name: (f"{f / n:.1%} ({f}/{n})", f"{h / s:.1%} ({h}/{s})" if s else "–")
        for name, (f, n, h, s) in counts.items()
        if not math.isnan(n)
    }


if __name__ == "__main__":
    sys.exit(main())
