"""Decode time with the rANS decoder in a child process ÷ decoding it in this process.

    python benchmarks/bench_isolation.py [--repeat 7]

The shipped plain model (N = 128, M = 192) decodes Kodak kodim23 (768×512; a synthetic
picture of that size without ../shared). Both ways alternate, best of ``--repeat`` each;
the decoded images must be identical. The isolation (fpsnr.codec.isolation) is what keeps
a crafted bitstream from crashing the process; this measures what it costs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import fpsnr
from fpsnr.codec import coder
from fpsnr.codec.weights import default_weights, load_weights

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak" / "kodim23.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    opts = parser.parse_args()
    model, info = load_weights(default_weights("bmshj2018-hyperprior"))
    if KODAK.is_file():
        image, name = fpsnr.read_image(KODAK), "kodim23"
    else:
        yy, xx = np.mgrid[0:512, 0:768]
        image, name = np.stack([xx % 256, yy % 256, (xx ^ yy) % 256], 2).astype(np.uint8), "synthetic"
    data = coder.encode(model, info, image).data
    native = coder.isolate_decoders

    def timed(isolated: bool) -> tuple[float, np.ndarray]:
        if not isolated:  # what decode did before: CompressAI's own decoder, in this process
            from compressai import ans

            coder.isolate_decoders = lambda m, s: [  # type: ignore[assignment]
                setattr(mod.entropy_coder, "_decoder", ans.RansDecoder())
                for mod in m.modules() if getattr(mod, "entropy_coder", None) is not None
            ]  # fmt: skip
        try:
            start = time.perf_counter()
            out = coder.decode(model, info, data).image
            return time.perf_counter() - start, out
        finally:
            coder.isolate_decoders = native

    best = {True: float("inf"), False: float("inf")}
    images = {}
    for _ in range(opts.repeat):
        for isolated in (False, True):
            seconds, images[isolated] = timed(isolated)
            best[isolated] = min(best[isolated], seconds)
    assert np.array_equal(images[True], images[False]), "isolation changed the decoded image"
    print(f"{name}, {len(data)} bytes, best of {opts.repeat}")
    print(f"in process  {best[False] * 1000:8.1f} ms")
    print(f"isolated    {best[True] * 1000:8.1f} ms   (+{(best[True] - best[False]) * 1000:.1f} ms, "
          f"ratio {best[True] / best[False]:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
