"""Batch throughput against the raw decoder, as ratios measured in one run (SPEC §6).

    python benchmarks/bench_batch.py [--repeat 3] [--folders 4]

Pairs: the 24 Kodak images (../shared/data/kodak, else 24 synthetic 768×512 images)
against JPEG copies at ``--folders`` qualities between 20 and 80 made in a temporary
folder (4: 96 pairs; 100: 2,400 pairs), each a PNG and a JPEG to decode. The floor is
``cv2.imread`` of the reference and the test of every pair — OpenCV's decoder, which
fpsnr cannot slow down — never an fpsnr function. Targets:

- scoring pairs/s ÷ ``cv2.imread`` of the same files, same worker count   ≥ 0.9
- scoring with 2 workers ÷ 1 worker                                         ≥ 1.8
  (printed beside the decoder's own 2 ÷ 1 in the same harness, which this machine caps too)

In process: with 2 workers both run through the same process pool (forkserver, OpenCV
single-threaded per worker); with 1 worker both run in this process with OpenCV
single-threaded too. Whole processes, the way a user runs it: ``fpsnr batch … -j N``
beside a ``python`` process that ``cv2.imread``s every pair in N processes. The last line
decodes through a forkserver pool too, the start method fpsnr's workers use (a parent with
threads cannot deadlock them; plain ``fork``, the baseline's, starts no second interpreter). Best of
``--repeat`` runs each, pool and interpreter start-up included, after one uncounted run of
each (Python's bytecode cache on, as an installed copy runs: ``_report.installed_env``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import Ratio, add_json_option, installed_env, report

import fpsnr
from fpsnr.images.io import write_image
from fpsnr.options import BatchOptions
from fpsnr.runs.batch import run_pair
from fpsnr.runs.pairing import PairTask, plan_pairs
from fpsnr.runs.parallel import map_local

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"


def decode_only(task: PairTask, options: BatchOptions) -> int:
    """The floor: OpenCV's decoder on both files of the pair, nothing of fpsnr."""
    import cv2

    return int(
        cv2.imread(task.ref, cv2.IMREAD_UNCHANGED).size + cv2.imread(task.test, cv2.IMREAD_UNCHANGED).size
    )


_RAW = """
import multiprocessing, sys, cv2
from concurrent.futures import ProcessPoolExecutor
def both(pair):
    cv2.setNumThreads(1)
    return cv2.imread(pair[0], cv2.IMREAD_UNCHANGED).size + cv2.imread(pair[1], cv2.IMREAD_UNCHANGED).size
if __name__ == "__main__":  # (a forkserver imports this file again: only the definition above)
    pairs = [line.split("\t") for line in open(sys.argv[1]).read().splitlines()]
    workers = int(sys.argv[2])
    method = sys.argv[3] if len(sys.argv) > 3 else None  # None: the platform's default (fork on Linux)
    if workers == 1:
        total = sum(map(both, pairs))
    else:
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(["__main__", "cv2"])
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            total = sum(pool.map(both, pairs, chunksize=16))
"""


def whole_process(args: list[str], repeat: int) -> float:
    env = installed_env()
    subprocess.run(args, check=True, capture_output=True, env=env)  # uncounted: fills the bytecode cache
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
        best = min(best, time.perf_counter() - start)
    return best


def make_data(root: Path, folders: int = 4) -> tuple[Path, list[Path], Path]:
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
    qualities = [round(q) for q in np.linspace(20, 80, folders)] if folders > 1 else [50]
    tests = []
    for n, q in enumerate(qualities):
        d = root / f"jpeg-{n:03d}-q{q}"
        d.mkdir()
        tests.append(d)
    for i, img in enumerate(sources):
        write_image(ref / f"img{i:02d}.png", img)
        for q, d in zip(qualities, tests, strict=True):
            write_image(d / f"img{i:02d}.jpg", img, quality=q)
    regions = root / "regions.json"
    h, w = sources[0].shape[:2]
    centres = [[w * 0.3, h * 0.4], [w * 0.7, h * 0.5]]
    document = {"width": w, "height": h, "regions": [{"center": c} for c in centres]}
    regions.write_text(json.dumps(document))
    folder = root / "regions"  # the same places in every image, one file per stem, for the command
    folder.mkdir()
    for i, img in enumerate(sources):
        ih, iw = img.shape[:2]  # portrait Kodak images have their own size
        own = {
            "width": iw,
            "height": ih,
            "regions": [{"center": [iw * 0.3, ih * 0.4]}, {"center": [iw * 0.7, ih * 0.5]}],
        }
        (folder / f"img{i:02d}.json").write_text(json.dumps(own))
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
    parser.add_argument("--folders", type=int, default=4, help="test folders of 24 JPEGs each")
    add_json_option(parser)
    args = parser.parse_args()
    import cv2

    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        ref, tests, regions_file = make_data(Path(tmp), args.folders)
        regions = fpsnr.load_regions(regions_file)
        tasks, _ = plan_pairs(ref, tests, regions)
        print(
            f"{len(tasks)} pairs ({'Kodak' if (KODAK / 'kodim01.png').is_file() else 'synthetic'}), 2 Fp each"
        )
        results = {}
        for workers in (1, 2):
            results[("decode", workers)] = rate(decode_only, tasks, workers, args.repeat)
            results[("score", workers)] = rate(run_pair, tasks, workers, args.repeat)
            print(f"in process, workers={workers}: cv2.imread {results[('decode', workers)]:6.1f} pairs/s   "
                  f"score {results[('score', workers)]:6.1f} pairs/s")  # fmt: skip
        listing = Path(tmp) / "pairs.tsv"
        listing.write_text("".join(f"{t.ref}\t{t.test}\n" for t in tasks))
        decode = Path(tmp) / "decode_only.py"  # a file: forkserver workers import their main module
        decode.write_text(_RAW)
        for workers in (1, 2):
            raw = whole_process([sys.executable, str(decode), str(listing), str(workers)], args.repeat)
            out = Path(tmp) / "scores.csv"
            cmd = [sys.executable, "-m", "fpsnr", "batch", str(ref), *map(str, tests),
                   "--regions", str(Path(tmp) / "regions"), "--fp", "0,0.5", "-o", str(out), "--overwrite",
                   "-j", str(workers)]  # fmt: skip
            scored = whole_process(cmd, args.repeat)
            results[("process", workers)] = raw / scored
            print(f"whole process, -j {workers}: cv2.imread {raw:6.2f} s   fpsnr batch {scored:6.2f} s")
        # the same decoding through a forkserver pool, as fpsnr starts its workers (thread-safe)
        served = whole_process([sys.executable, str(decode), str(listing), "2", "forkserver"], args.repeat)
        results[("served", 2)] = served / scored
        print(f"whole process, -j 2: cv2.imread through a forkserver pool {served:6.2f} s")
    n = len(tasks)
    ratios = [
        Ratio(f"batch ÷ cv2.imread, {n} pairs, in process, 1 worker",
              results[("score", 1)] / results[("decode", 1)], ">=", 0.9),
        Ratio(f"batch ÷ cv2.imread, {n} pairs, in process, 2 workers",
              results[("score", 2)] / results[("decode", 2)], ">=", 0.9),
        Ratio(f"batch 2 workers ÷ 1 worker, {n} pairs",
              results[("score", 2)] / results[("score", 1)], ">=", 1.8),
        Ratio(f"cv2.imread 2 workers ÷ 1 worker, {n} pairs (the floor's own)",
              results[("decode", 2)] / results[("decode", 1)], None),
        Ratio(f"fpsnr batch ÷ cv2.imread, {n} pairs, -j 1", results[("process", 1)], ">=", 0.9),
        Ratio(f"fpsnr batch ÷ cv2.imread, {n} pairs, -j 2", results[("process", 2)], ">=", 0.9),
        Ratio(f"fpsnr batch ÷ cv2.imread, forkserver pool, {n} pairs, -j 2", results[("served", 2)], None),
    ]  # fmt: skip
    report(ratios, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
