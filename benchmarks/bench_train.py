"""Training data pipeline: steps/s on real crops ÷ steps/s on synthetic tensors.

    python benchmarks/bench_train.py [--steps 10] [--device cpu]

The same model (the full N = 128, M = 192 hyperprior), batch and crop size in both
runs, measured in one process: the synthetic run feeds one random tensor already on
the device, the real run draws random crops with flips from the decoded training
photos (../shared/data/photos, else synthetic images written to a temporary folder).
Target ≥ 0.9: the data pipeline must not slow training down.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import numpy as np

from fpsnr.codec.train import TrainConfig, synthetic_rate, train
from fpsnr.images import write_image

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--patch", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = PHOTOS
        if not (PHOTOS / "001.png").is_file():
            data = Path(tmp) / "photos"
            data.mkdir()
            rng = np.random.default_rng(0)
            for i in range(8):
                write_image(data / f"{i}.png", rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
        run = str(Path(tmp) / "run")
        cfg = TrainConfig(data=str(data), model="bmshj2018-hyperprior", lmbda=0.013, out=run,
                          batch_size=args.batch, patch=args.patch, max_steps=args.steps + 2,
                          log_every=2, checkpoint_every=10**9, device=args.device)  # fmt: skip
        synthetic = synthetic_rate(cfg, steps=args.steps)
        train(cfg, progress=False)
        with open(Path(cfg.out) / "log.csv", newline="") as handle:
            log = list(csv.DictReader(handle))
        # steady state: from the end of step 2 to the last step, as for the synthetic run
        real = args.steps / (float(log[-1]["seconds"]) - float(log[0]["seconds"]))
    print(f"device {args.device}, batch {args.batch}, crops {args.patch}², data {data}")
    print(f"synthetic tensors {synthetic:7.2f} steps/s")
    print(f"real crops        {real:7.2f} steps/s")
    ratio = real / synthetic
    print(f"\nreal / synthetic = {ratio:.3f}   target >= 0.9  {'ok' if ratio >= 0.9 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
