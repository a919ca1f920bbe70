"""Batch throughput, as ratios measured in one run (issue: fpsnr batch, SPEC §6).

    python benchmarks/bench_batch.py [--repeat 3]

Pairs: the 24 Kodak images (../shared/data/kodak, else 24 synthetic 768×512 images)
against JPEG copies at q = 20, 40, 60, 80 made in a temporary folder: 96 pairs, each
a PNG and a JPEG to decode. Targets:

- scoring pairs/s ÷ only decoding the same files, same worker count   ≥ 0.9
- scoring with 2 workers ÷ 1 worker                                    ≥ 1.8

With 2 workers both run through the same process pool (forkserver, OpenCV
single-threaded per worker); with 1 worker both run in this process with OpenCV
single-threaded too, so "1 worker" means one core. Best of ``--repeat`` runs each,
pool start-up included.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import fpsnr
from fpsnr.images.io import write_image
from fpsnr.options import BatchOptions
from fpsnr.runs.batch import run_pair
from fpsnr.runs.pairing import PairTask, plan_pairs
from fpsnr.runs.parallel import map_local

QUALITIES = (20, 40, 60, 80)
KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"


def decode_only(task: PairTask, options: BatchOptions) -> int:
    return fpsnr.read_image(task.ref).size + fpsnr.read_image(task.test).size


def make_data(root: Path) -> tuple[Path, list[Path], Path]:
    ref = root / "ref"
    ref.mkdir()
    if (KODAK / "kodim01.png").is_file():
        sources = [fpsnr.read_image(p) for p in sorted(KODAK.glob("kodim*.png"))]
    else:
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:512, 0:768]
        sources = [
            np.clip(
                np.stack([xx / 3 + i, yy / 2, (xx + yy) / 5], 2) + rng.normal(0, 8, (512, 768, 3)), 0, 255
            ).astype(np.uint8)
            for i in range(24)
        ]
    tests = []
    for q in QUALITIES:
        d = root / f"jpeg-q{q}"
        d.mkdir()
        tests.append(d)
    for i, img in enumerate(sources):
        write_image(ref / f"img{i:02d}.png", img)
        for q, d in zip(QUALITIES, tests, strict=True):
            write_image(d / f"img{i:02d}.jpg", img, quality=q)
    regions = root / "regions.json"
    h, w = sources[0].shape[:2]
    centres = [[w * 0.3, h * 0.4], [w * 0.7, h * 0.5]]
    regions.write_text(json.dumps({"width": w, "height": h, "regions": [{"center": c} for c in centres]}))
    return ref, tests, regions


def rate(func, tasks, workers: int, repeat: int) -> float:
    options = BatchOptions(fps=(0.0, 0.5))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        if workers == 1:
            for task in tasks:
                func(task, options)
        else:
            for _ in map_local(func, tasks, options, workers):
                pass
        best = min(best, time.perf_counter() - start)
    return len(tasks) / best


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import cv2

    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        ref, tests, regions_file = make_data(Path(tmp))
        regions = fpsnr.load_regions(regions_file)
        tasks, _ = plan_pairs(ref, tests, regions)
        print(
            f"{len(tasks)} pairs ({'Kodak' if (KODAK / 'kodim01.png').is_file() else 'synthetic'}), 2 Fp each"
        )
        results = {}
        for workers in (1, 2):
            results[("decode", workers)] = rate(decode_only, tasks, workers, args.repeat)
            results[("score", workers)] = rate(run_pair, tasks, workers, args.repeat)
            print(f"workers={workers}: decode only {results[('decode', workers)]:6.1f} pairs/s   "
                  f"score {results[('score', workers)]:6.1f} pairs/s")  # fmt: skip
    rows = [
        ("score / decode-only, 1 worker", results[("score", 1)] / results[("decode", 1)], 0.9),
        ("score / decode-only, 2 workers", results[("score", 2)] / results[("decode", 2)], 0.9),
        ("score 2 workers / 1 worker", results[("score", 2)] / results[("score", 1)], 1.8),
    ]
    print()
    for name, ratio, target in rows:
        print(f"{name:32s} {ratio:5.2f}   target >= {target}  {'ok' if ratio >= target else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
