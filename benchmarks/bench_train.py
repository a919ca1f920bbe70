"""Training throughput: crops/s and steps/s of every ``fpsnr codec train`` speed option, in one run.

    python benchmarks/bench_train.py --device cuda                  # the GPU table (issue 15)
    python benchmarks/bench_train.py --device cpu --tiny --steps 4  # a quick CPU check of the script

Every configuration trains the same model (the full N = 128, M = 192 hyperprior unless
``--tiny``) on the same photos (``--data``; else ../shared/data/photos; else synthetic
images), batch 16 of 256² crops, λ = 0.013, through :func:`fpsnr.codec.training.train_many`,
the function ``fpsnr codec train`` calls. A configuration first runs ``--warm`` steps
(compilation, CUDA graph capture and cuDNN's algorithm search happen there), then
``--steps`` timed steps between two device synchronisations. crops/s counts the crops of
every run trained (4 runs on one batch = 4 × 16 crops per step).

The first row is the path before this benchmark: eager float32, 16 crops cut as Python
slices, CompressAI's bottleneck forward with its host syncs, no cuDNN algorithm search,
one run per process. Ratios are to that row, measured
in the same process.

``--check-steps N`` then trains N steps from the same seed with the plain path and with
the fastest options, once from random weights and once from the shipped λ = 0.013 weights,
and prints the mean loss of the last third of each: the options must not hurt convergence
per crop. ``--csv FILE`` appends every row as it is measured (a run cut short keeps them).
"""

from __future__ import annotations

import argparse
import csv
import gc
import math
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from fpsnr.codec.models import get_spec
from fpsnr.codec.training import TrainConfig, Tuning, train_many
from fpsnr.images.io import write_image

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"
LMBDAS = (0.0035, 0.0067, 0.013, 0.025)

# name, runs, options; the first is the baseline (the path before)
CONFIGS: list[tuple[str, int, dict[str, Any]]] = [
    ("before: eager fp32, slices", 1, {"before": True}),
    ("eager fp32 (gather, cudnn search)", 1, {}),
    ("cuda-graphs", 1, {"cuda_graphs": True}),
    ("cuda-graphs + amp bf16", 1, {"cuda_graphs": True, "amp": "bf16"}),
    ("4 runs, eager", 4, {}),
    ("4 runs, cuda-graphs", 4, {"cuda_graphs": True}),
    ("4 runs, cuda-graphs + bf16", 4, {"cuda_graphs": True, "amp": "bf16"}),
    ("batch 64, cuda-graphs + bf16", 1, {"cuda_graphs": True, "amp": "bf16", "batch_size": 64}),
    ("compile", 1, {"compile": True}),
    ("compile + cuda-graphs", 1, {"compile": True, "cuda_graphs": True}),
    ("compile + cuda-graphs + bf16", 1, {"compile": True, "cuda_graphs": True, "amp": "bf16"}),
    ("4 runs, compile + graphs + bf16", 4, {"compile": True, "cuda_graphs": True, "amp": "bf16"}),
]


class _Stop(Exception):
    """Raised by the step hook once the timed steps are done."""


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _photos(arg: str | None, tmp: Path) -> Path:
    if arg:
        return Path(arg)
    if (PHOTOS / "001.png").is_file():
        return PHOTOS
    data = tmp / "photos"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        write_image(data / f"{i}.png", rng.integers(0, 256, (320, 400, 3), dtype=np.uint8))
    return data


def _base(args: argparse.Namespace, data: Path, out: Path) -> TrainConfig:
    tiny = {"n": 16, "m": 16} if args.tiny else {}
    return TrainConfig(data=str(data), model="bmshj2018-hyperprior", lmbda=0.013, out=str(out),
                       batch_size=args.batch, patch=args.patch, max_steps=10**9, log_every=10**9,
                       checkpoint_every=10**9, device=args.device, **tiny)  # fmt: skip


def measure(args: argparse.Namespace, data: Path, tmp: Path, name: str, runs: int,
            options: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Run one configuration; its rates and set-up seconds, or the error it raised."""
    import torch

    options = dict(options)
    before = options.pop("before", False)
    tuning = Tuning(gather_crops=not before, cudnn_benchmark=not before, sync_free=not before)
    if args.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = not before
    folder = tmp / f"run{len(list(tmp.iterdir()))}"
    base = replace(_base(args, data, folder), **options)
    cfgs = [replace(base, lmbda=lam, out=str(folder / f"{lam:g}")) for lam in LMBDAS[:runs]]
    warnings: list[str] = []
    marks: dict[str, float] = {"start": time.perf_counter()}

    def hook(step: int) -> None:
        if step == args.warm:
            _sync(args.device)
            marks["t0"] = time.perf_counter()
        elif step == args.warm + args.steps:
            _sync(args.device)
            marks["t1"] = time.perf_counter()
            raise _Stop

    row: dict[str, Any] = {"config": name, "runs": runs, "batch": base.batch_size}
    try:
        train_many(cfgs, progress=False, on_step=hook, on_warning=warnings.append, tuning=tuning)
    except _Stop:
        seconds = marks["t1"] - marks["t0"]
        steps_per_s = args.steps / seconds
        row.update(steps_per_s=steps_per_s, crops_per_s=steps_per_s * runs * base.batch_size,
                   setup_s=marks["t0"] - marks["start"])  # fmt: skip
    except Exception as err:  # a configuration that fails is a row, not the end of the benchmark
        row["error"] = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:160] if str(err) else ''}"
    row["warnings"] = " | ".join(w[:120] for w in warnings)
    if args.device.startswith("cuda"):
        row["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
        torch.cuda.reset_peak_memory_stats()
    gc.collect()
    if args.device.startswith("cuda"):
        torch.cuda.empty_cache()
    return row


def convergence(args: argparse.Namespace, data: Path, tmp: Path, name: str, options: dict[str, Any],
                init: str | None, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Mean loss, bpp and PSNR over the last third of ``--check-steps`` steps from one seed."""
    folder = tmp / f"check{len(list(tmp.iterdir()))}"
    every = max(1, args.check_steps // 30)
    cfg = replace(_base(args, data, folder), max_steps=args.check_steps, log_every=every, init=init,
                  seed=seed, **options)  # fmt: skip
    start = time.perf_counter()
    row: dict[str, Any] = {"config": f"check {name}", "init": "shipped" if init else "random", "seed": seed}
    try:
        train_many([cfg], progress=False, on_warning=lambda w: None)
    except Exception as err:
        row["error"] = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:160] if str(err) else ''}"
        return row
    with open(folder / "log.csv", newline="") as handle:
        log = list(csv.DictReader(handle))
    tail = log[len(log) * 2 // 3 :]
    row["losses"] = [float(r["loss"]) for r in log]
    row.update({k: float(np.mean([float(r[k]) for r in tail])) for k in ("loss", "bpp", "psnr")})
    row["seconds"] = time.perf_counter() - start
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data", default=None, help="training photos [../shared/data/photos]")
    parser.add_argument("--steps", type=int, default=60, help="timed steps per configuration")
    parser.add_argument("--warm", type=int, default=10, help="untimed steps first")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=256)
    parser.add_argument("--tiny", action="store_true", help="N = M = 16 (a CPU check of the script)")
    parser.add_argument("--only", default=None, help="comma-separated config numbers (1 = the baseline)")
    parser.add_argument("--check-steps", type=int, default=0, help="convergence check length (0: none)")
    parser.add_argument("--check-seeds", default="0", help="comma-separated seeds of the convergence check")
    parser.add_argument("--csv", default=None, help="append each row here as it is measured")
    parser.add_argument("--skip-compile", action="store_true", help="leave out the --compile rows")
    args = parser.parse_args()

    import torch

    chosen = list(enumerate(CONFIGS, start=1))
    if args.only:
        keep = {int(v) for v in args.only.split(",")} | {1}
        chosen = [(i, c) for i, c in chosen if i in keep]
    if args.skip_compile:
        chosen = [(i, c) for i, c in chosen if not c[2].get("compile")]
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(f"torch {torch.__version__}, {device_name}, batch {args.batch}, crops {args.patch}², "
          f"{args.warm} warm + {args.steps} timed steps", flush=True)  # fmt: skip
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = _photos(args.data, tmp)
        print(f"data {data}", flush=True)
        work = tmp / "work"
        work.mkdir()
        for number, (name, runs, options) in chosen:
            row = measure(args, data, work, name, runs, options)
            row["number"] = number
            base = rows[0].get("crops_per_s") if rows else row.get("crops_per_s")
            if "crops_per_s" in row and base:
                row["ratio"] = row["crops_per_s"] / base
            rows.append(row)
            _print_row(row)
            _append(args.csv, row)
        if args.check_steps:
            fastest = max((r for r in rows if r.get("runs") == 1 and "crops_per_s" in r),
                          key=lambda r: r["crops_per_s"])  # fmt: skip
            best = dict(CONFIGS[fastest["number"] - 1][2])
            best.pop("batch_size", None)
            checks = [("plain", {}), ("cuda-graphs", {"cuda_graphs": True}),
                      ("cuda-graphs + bf16", {"cuda_graphs": True, "amp": "bf16"})]  # fmt: skip
            if best not in [c[1] for c in checks] and "before" not in best:
                checks.append((fastest["config"], best))
            shipped = get_spec("bmshj2018-hyperprior").default_weights
            inits = [None] if args.tiny or shipped is None else [None, str(shipped.path)]
            for init, seed in [(i, int(s)) for i in inits for s in args.check_seeds.split(",")]:
                plain: list[float] = []
                for name, options in checks:
                    row = convergence(args, data, work, name, options, init, seed)
                    losses = row.pop("losses", [])
                    plain = plain or losses
                    if losses and plain:  # the logged losses, step by step, against the plain path
                        pairs = zip(losses, plain, strict=True)
                        row["max_rel_diff"] = max(abs(a - b) / abs(b) for a, b in pairs)
                    _print_check(row)
                    _append(args.csv, row)
    print("\nsummary (crops/s per GPU; ratio to the first row, same process):")
    for row in rows:
        _print_row(row)
    return 0


def _print_row(row: dict[str, Any]) -> None:
    if "crops_per_s" in row:
        text = (f"{row['crops_per_s']:9.1f} crops/s  {row['steps_per_s']:7.2f} steps/s  "
                f"x{row.get('ratio', math.nan):5.2f}  setup {row['setup_s']:6.1f} s")  # fmt: skip
        if "peak_gib" in row:
            text += f"  {row['peak_gib']:5.1f} GiB"
    else:
        text = f"failed: {row.get('error', '')}"
    warned = f"  [{row['warnings']}]" if row.get("warnings") else ""
    print(f"{row['number']:>2} {row['config']:<36} {text}{warned}", flush=True)


def _print_check(row: dict[str, Any]) -> None:
    if "loss" in row:
        text = f"loss {row['loss']:.4f}  bpp {row['bpp']:.4f}  psnr {row['psnr']:.3f}  "
        text += f"({row['seconds']:.1f} s)"
        if "max_rel_diff" in row:
            text += f"  logged losses vs plain: max rel diff {row['max_rel_diff']:.2e}"
    else:
        text = row.get("error", "")
    print(f"{row['config']:<40} {row['init']:>8} seed {row['seed']}  {text}", flush=True)


def _append(path: str | None, row: dict[str, Any]) -> None:
    if not path:
        return
    fields = ["number", "config", "runs", "batch", "init", "seed", "crops_per_s", "steps_per_s", "ratio",
              "setup_s", "peak_gib", "loss", "bpp", "psnr", "max_rel_diff", "seconds", "warnings",
              "error"]  # fmt: skip
    new = not Path(path).exists()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow(row)


if __name__ == "__main__":
    sys.exit(main())
