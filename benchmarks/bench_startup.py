"""Start-up cost of the codec commands: what importing them costs, module by module.

    python benchmarks/bench_startup.py [--runs 3]

Each measurement is a fresh interpreter (``python -X importtime``), so nothing is cached in
the process; the file system cache is warm after the first run. Printed: the cumulative
import time of torch, torchvision, torch_geometric, compressai and fpsnr's codec models
(each includes what it imports first), the median over ``--runs``, and the wall time of
``fpsnr codec models`` (a codec command that codes nothing) against ``fpsnr --help`` (no
codec at all).

CompressAI 1.2.8's package ``__init__`` imports every submodule, among them its point-cloud
datasets and transform registry, which import torchvision and torch_geometric; no codec
command uses either, but importing ``compressai.entropy_models`` runs that ``__init__``
first.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

MODULES = ("torch", "torchvision", "torch_geometric", "compressai", "fpsnr.codec.models")


def _cumulative(module: str) -> float:
    """Seconds to import ``module`` in a fresh interpreter, everything it needs included."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1e6
    raise RuntimeError(f"no import time for {module}")


def _wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fpsnr", *args], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"median of {args.runs} fresh interpreters")
    for module in MODULES:
        seconds = statistics.median(_cumulative(module) for _ in range(args.runs))
        print(f"import {module:<22} {seconds:6.2f} s")
    plain = statistics.median(_wall(["--help"]) for _ in range(args.runs))
    codec = statistics.median(_wall(["codec", "models"]) for _ in range(args.runs))
    print(f"\nfpsnr --help            {plain:6.2f} s")
    print(f"fpsnr codec models      {codec:6.2f} s   ({codec / plain:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
