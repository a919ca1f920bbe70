"""CPU encode + decode: fpsnr's codec ÷ CompressAI's own, and the attention model ÷ the plain one.

    python benchmarks/bench_codec.py [--repeat 5]

Both models at N = 128, M = 192, with their shipped default weights (the Kodak
study's λ = 0.0130 models). Image: Kodak kodim23 (768×512), else a synthetic 768×512
picture. Each time is the best of ``--repeat`` full encode + decode runs through the real
entropy coder; the ways alternate so drift on a shared machine hits all. The floor is
CompressAI's own ``model.compress`` + ``model.decompress`` of the padded image with its
own rANS decoder, in process — what fpsnr adds to it is the file format, the desync
check and the decoder in a child process. Target (fpsnr's own, SPEC sets none):
attention ÷ plain ≤ 1.05.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _report import Ratio, add_json_option, report
from compressai.ans import RansDecoder

import fpsnr
from fpsnr.codec import MODEL_NAMES
from fpsnr.codec._compressai import isolate_decoders
from fpsnr.codec.coder import decode, encode
from fpsnr.codec.weights import default_weights, load_weights

SHARED = Path(__file__).resolve().parents[2] / "shared"
KODAK = SHARED / "data" / "kodak" / "kodim23.png"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    add_json_option(parser)
    args = parser.parse_args()
    if KODAK.is_file():
        image = fpsnr.read_image(KODAK)
    else:
        yy, xx = np.mgrid[0:512, 0:768]
        image = np.clip(np.stack([xx / 3, yy / 2, (xx + yy) / 5], 2), 0, 255).astype(np.uint8)
    loaded = {name: load_weights(default_weights(name)) for name in MODEL_NAMES}
    native = {name: load_weights(default_weights(name))[0] for name in MODEL_NAMES}
    for model in native.values():
        isolate_decoders(model, RansDecoder)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    padded = F.pad(x, (0, (-x.shape[-1]) % 64, 0, (-x.shape[-2]) % 64), mode="replicate")
    best = {name: float("inf") for name in loaded}
    floor = {name: float("inf") for name in loaded}
    sizes = {}
    for _ in range(args.repeat):
        for name, (model, info) in loaded.items():
            start = time.perf_counter()
            enc = encode(model, info, image)
            decode(model, info, enc.data)
            best[name] = min(best[name], time.perf_counter() - start)
            sizes[name] = enc.bpp_payload
            start = time.perf_counter()
            with torch.no_grad():
                out = native[name].compress(padded)
                native[name].decompress(out["strings"], out["shape"])
            floor[name] = min(floor[name], time.perf_counter() - start)
    picture = "kodim23" if KODAK.is_file() else "synthetic"
    print(f"weights: the shipped defaults; image: {picture} 768×512; torch threads {torch.get_num_threads()}")
    for name, seconds in best.items():
        print(f"{name:28s} encode+decode {seconds:6.3f} s   ({sizes[name]:.3f} bpp); CompressAI's own "
              f"{floor[name]:6.3f} s, ratio {seconds / floor[name]:.2f}")  # fmt: skip
    ratios = [Ratio(f"codec encode+decode ÷ CompressAI's own, {name}", best[name] / floor[name], None)
              for name in best]  # fmt: skip
    attention = best["bmshj2018-hyperprior-attn"] / best["bmshj2018-hyperprior"]
    ratios.append(Ratio("codec attention ÷ plain model, encode+decode", attention, "<=", 1.05))
    report(ratios, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
