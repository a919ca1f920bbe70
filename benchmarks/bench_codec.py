"""CPU encode + decode time of the attention model ÷ the plain hyperprior (SPEC §4).

    python benchmarks/bench_codec.py [--repeat 5]

Both models at N = 128, M = 192. Weights: the warm-start checkpoint in
../shared/reference/weights when present (the attention model gets it plus fresh
attention blocks, as a warm start would), otherwise the same random initialisation
for both. Image: Kodak kodim23 (768×512), else a synthetic 768×512 picture. Each
time is the best of ``--repeat`` full encode + decode runs through the real entropy
coder; the two models alternate so drift on a shared machine hits both. Target ≤ 1.05.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import fpsnr
from fpsnr.codec.coder import decode, encode
from fpsnr.codec.models import build_model
from fpsnr.codec.weights import convert_compressai, load_weights, save_weights

SHARED = Path(__file__).resolve().parents[2] / "shared"
CKPT = SHARED / "reference" / "weights" / "bmshj2018-hyperprior-mse-0.0130-warmstart.safetensors"
KODAK = SHARED / "data" / "kodak" / "kodim23.png"


def models(tmp: Path) -> dict[str, tuple[object, object]]:
    out = {}
    for name in ("bmshj2018-hyperprior", "bmshj2018-hyperprior-attn"):
        path = tmp / f"{name}.safetensors"
        torch.manual_seed(0)  # the same fresh attention blocks on every run
        if CKPT.is_file():
            convert_compressai(CKPT, path, arch=name, lmbda=0.013)
        else:
            torch.manual_seed(0)
            model = build_model(name)
            model.update(force=True)
            save_weights(model, path, arch=name, lmbda=0.013, distortion="mse", steps=0, data="random")
        out[name] = load_weights(path)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if KODAK.is_file():
        image = fpsnr.read_image(KODAK)
    else:
        yy, xx = np.mgrid[0:512, 0:768]
        image = np.clip(np.stack([xx / 3, yy / 2, (xx + yy) / 5], 2), 0, 255).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        loaded = models(Path(tmp))
        best = {name: float("inf") for name in loaded}
        sizes = {}
        for _ in range(args.repeat):
            for name, (model, info) in loaded.items():
                start = time.perf_counter()
                enc = encode(model, info, image)
                decode(model, info, enc.data)
                best[name] = min(best[name], time.perf_counter() - start)
                sizes[name] = enc.bpp_payload
    source = "warm-start checkpoint" if CKPT.is_file() else "random init"
    picture = "kodim23" if KODAK.is_file() else "synthetic"
    print(f"weights: {source}; image: {picture} 768×512; torch threads {torch.get_num_threads()}")
    for name, seconds in best.items():
        print(f"{name:28s} encode+decode {seconds:6.3f} s   ({sizes[name]:.3f} bpp)")
    ratio = best["bmshj2018-hyperprior-attn"] / best["bmshj2018-hyperprior"]
    print(f"\nattention / plain = {ratio:.3f}   target <= 1.05  {'ok' if ratio <= 1.05 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
