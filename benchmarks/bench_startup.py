"""Start-up cost of the codec commands: what importing them costs, module by module.

    python benchmarks/bench_startup.py [--runs 3]

Each measurement is a fresh interpreter (``python -X importtime``), so nothing is cached in
the process; the file system cache is warm after the first run. Printed: the cumulative
import time of torch, scipy.stats, CompressAI's entropy models (each includes
what it imports first), as the command imports them, then the same with ``FPSNR_COMPRESSAI=full``
(CompressAI's own package import: torchvision, torch_geometric and the rest), the median
over ``--runs``; and the wall time of ``fpsnr codec models`` (a codec command that codes
nothing) both ways, against ``python -c "import torch"`` (a floor fpsnr cannot move) and
``fpsnr --help`` (no codec at all), as ratios measured in this run.

CompressAI 1.2.8's package ``__init__`` imports every submodule, among them its point-cloud
datasets and transform registry, which import torchvision and torch_geometric; no codec
command uses either. In the command's own process ``fpsnr.codec._compressai`` imports the
codec's part of CompressAI only (``import_for_command``, measured here the same way).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _report import Ratio, add_json_option, installed_env, report

LEAN = ("torch", "scipy.stats", "compressai.entropy_models.entropy_models")
FULL = ("torch", "torchvision", "torch_geometric", "compressai")


def _env(full: bool) -> dict[str, str]:
    env = {k: v for k, v in installed_env().items() if k != "FPSNR_COMPRESSAI"}
    return env | {"FPSNR_COMPRESSAI": "full"} if full else env


def _cumulative(modules: tuple[str, ...], full: bool) -> dict[str, float]:
    """Seconds to import each of ``modules`` (what it needs first included) as the command does.

    The ``fpsnr`` command's own process asks for its CompressAI import first
    (``fpsnr.cli.codec.common``), then imports the codec models.
    """
    code = "from fpsnr.codec._compressai import import_for_command as f; f(); import fpsnr.codec.models"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                          capture_output=True, text=True, check=True, env=_env(full))  # fmt: skip
    found: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] in modules:
            found[parts[2]] = int(parts[1]) / 1e6
    return found


def _process(command: list[str], full: bool = False) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, env=_env(full))
    return time.perf_counter() - start


def _wall(args: list[str], full: bool = False) -> float:
    return _process([sys.executable, "-m", "fpsnr", *args], full)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    add_json_option(parser)
    args = parser.parse_args()
    print(f"median of {args.runs} fresh interpreters; cumulative import times")
    for label, modules, full in (("fpsnr (lean)", LEAN, False), ("FPSNR_COMPRESSAI=full", FULL, True)):
        runs = [_cumulative(modules, full) for _ in range(args.runs)]
        print(f"\n{label}")
        for module in modules:
            seconds = [r[module] for r in runs if module in r]
            shown = f"{statistics.median(seconds):6.2f} s" if seconds else "     - (not imported)"
            print(f"  import {module:<40} {shown}")
    for warm in (["-c", "import torch"], ["-m", "fpsnr", "--help"], ["-m", "fpsnr", "codec", "models"]):
        subprocess.run([sys.executable, *warm], capture_output=True, env=_env(False))  # fills the cache
    subprocess.run([sys.executable, "-m", "fpsnr", "codec", "models"], capture_output=True, env=_env(True))
    torch_only = statistics.median(_process([sys.executable, "-c", "import torch"]) for _ in range(args.runs))
    plain = statistics.median(_wall(["--help"]) for _ in range(args.runs))
    lean = statistics.median(_wall(["codec", "models"]) for _ in range(args.runs))
    full = statistics.median(_wall(["codec", "models"], full=True) for _ in range(args.runs))
    print(f"\npython -c 'import torch' (the floor)      {torch_only:6.2f} s")
    print(f"fpsnr --help                              {plain:6.2f} s")
    print(f"fpsnr codec models                        {lean:6.2f} s   "
          f"({lean / torch_only:.2f}x import torch, {lean / plain:.1f}x --help)")  # fmt: skip
    print(f"FPSNR_COMPRESSAI=full fpsnr codec models  {full:6.2f} s   ({full / plain:.1f}x --help, "
          f"{full / lean:.2f}x the lean import)")  # fmt: skip
    report([Ratio("fpsnr codec models ÷ python -c 'import torch'", lean / torch_only, None)], args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
