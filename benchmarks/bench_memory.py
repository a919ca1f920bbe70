"""Main-process memory of ``fpsnr batch`` as the run grows: it must stay flat (SPEC §6).

    python benchmarks/bench_memory.py [--small 240] [--large 2400]

Small synthetic pairs (24 references of 64×48 pixels against ``pairs / 24`` folders of
JPEG copies), so the run's own bookkeeping — not image decoding — is what grows.
``fpsnr batch -j 1`` runs in a child process; its peak resident memory
(``ru_maxrss`` from ``os.wait4``) is read for each size, and the figure is the growth
per pair between the two sizes, beside the peak of the small run. Target: the large
run's peak ≤ 1.1 × the small run's (growth that would reach a gigabyte only at
millions of pairs is flat for this purpose; 3.9 KB a pair, measured in December, is not).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _report import Ratio, add_json_option, report

from fpsnr.images.io import write_image


def make(root: Path, pairs: int) -> list[str]:
    rng = np.random.default_rng(0)
    ref = root / "ref"
    ref.mkdir()
    images = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(24)]
    for i, img in enumerate(images):
        write_image(ref / f"img{i:02d}.png", img)
    folders = []
    for n in range(max(1, pairs // 24)):
        d = root / f"q{n:04d}"
        d.mkdir()
        for i, img in enumerate(images):
            write_image(d / f"img{i:02d}.jpg", img, quality=20 + n % 70)
        folders.append(str(d))
    return [str(ref), *folders]


def peak_rss(args: list[str]) -> tuple[int, float]:
    """(peak resident bytes, exit status) of one child process."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"fpsnr batch failed ({proc.returncode}): {err.strip().splitlines()[-1:]}")
    return usage.ru_maxrss * 1024, proc.returncode


def measure(pairs: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        dirs = make(Path(tmp), pairs)
        out = Path(tmp) / "scores.csv"
        cmd = [sys.executable, "-m", "fpsnr", "batch", *dirs, "--fp", "0,0.5", "-o", str(out), "-j", "1",
               "--missing-regions", "center"]  # fmt: skip
        return peak_rss(cmd)[0]


def results(small: int = 240, large: int = 2400) -> list[Ratio]:
    a, b = measure(small), measure(large)
    per_pair = (b - a) / (large - small)
    print(f"fpsnr batch -j 1 peak RSS: {small} pairs {a / 2**20:.1f} MiB, {large} pairs {b / 2**20:.1f} MiB "
          f"({per_pair / 1024:+.2f} KiB a pair)")  # fmt: skip
    return [Ratio(f"batch peak memory, {large} ÷ {small} pairs", b / a, "<=", 1.1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=240)
    parser.add_argument("--large", type=int, default=2400)
    add_json_option(parser)
    args = parser.parse_args()
    report(results(args.small, args.large), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
