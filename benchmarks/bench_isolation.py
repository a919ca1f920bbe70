"""fpsnr's decode ÷ CompressAI's own ``decompress`` of the same strings, and what isolation adds.

    python benchmarks/bench_isolation.py [--repeat 7]

The shipped plain model (N = 128, M = 192) decodes Kodak kodim23 (768×512; a synthetic
picture of that size without ../shared). Three ways, alternated, best of ``--repeat``
each, the decoded pixels identical:

- CompressAI: ``model.decompress(strings, shape)`` with its own rANS decoder, in this
  process — the baseline, a third-party function fpsnr cannot slow down;
- fpsnr, in process: :func:`fpsnr.codec.coder.decode` with CompressAI's decoder put back —
  the baseline plus the desync check (the z string decoded once more and one ``h_s``);
- fpsnr, isolated: ``decode`` as shipped, the rANS decoding in a child process
  (:mod:`fpsnr.codec.isolation`), which keeps a crafted bitstream from crashing the caller.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from _report import Ratio, add_json_option, report
from compressai.ans import RansDecoder

import fpsnr
from fpsnr.codec import coder
from fpsnr.codec._compressai import isolate_decoders
from fpsnr.codec.bitstream import unpack
from fpsnr.codec.weights import default_weights, load_weights

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak" / "kodim23.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    add_json_option(parser)
    opts = parser.parse_args()
    isolated, info = load_weights(default_weights("bmshj2018-hyperprior"))
    native, _ = load_weights(default_weights("bmshj2018-hyperprior"))
    isolate_decoders(native, RansDecoder)
    if KODAK.is_file():
        image, name = fpsnr.read_image(KODAK), "kodim23"
    else:
        yy, xx = np.mgrid[0:512, 0:768]
        image, name = np.stack([xx % 256, yy % 256, (xx ^ yy) % 256], 2).astype(np.uint8), "synthetic"
    data = coder.encode(isolated, info, image).data
    header, z, y = unpack(data)

    def compressai() -> np.ndarray:
        with torch.no_grad():
            x_hat = native.decompress([[y], [z]], header.z_shape)["x_hat"]
        x_hat = x_hat[0, :, : header.height, : header.width]
        return (x_hat.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)

    ways = {
        "CompressAI decompress": compressai,
        "fpsnr, in process": lambda: coder.decode(native, info, data).image,
        "fpsnr, isolated": lambda: coder.decode(isolated, info, data).image,
    }
    best = dict.fromkeys(ways, float("inf"))
    images = {}
    for _ in range(opts.repeat):
        for way, run in ways.items():
            start = time.perf_counter()
            images[way] = run()
            best[way] = min(best[way], time.perf_counter() - start)
    first = next(iter(images.values()))
    assert all(np.array_equal(first, other) for other in images.values()), "the decoded images differ"
    base = best["CompressAI decompress"]
    print(f"{name}, {len(data)} bytes, best of {opts.repeat}")
    for way, seconds in best.items():
        extra = (seconds - base) * 1000
        print(f"{way:<22} {seconds * 1000:8.1f} ms   ratio {seconds / base:.2f}  (+{extra:.1f} ms)")
    report([Ratio("codec decode (isolated) ÷ CompressAI's decompress", best["fpsnr, isolated"] / base, None)],
           opts.json)  # fmt: skip


if __name__ == "__main__":
    main()
