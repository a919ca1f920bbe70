"""Time of fpsnr.torch.m_fpsnr ÷ a plain full-frame MSE on the same tensors.

    python benchmarks/bench_torch_metric.py [--device cpu|cuda] [--dtype float32|float64] [--repeat 7]

A batch of 16 Kodak-sized images (3 × 512 × 768), 3 regions each (16 different region
sets, default radius ≈ 67 px), as in a validation step. The baseline is the per-image
MSE ``((x − y)²).mean((1, 2, 3))``. Both are timed alternately, best of ``--repeat``,
after one warm-up call (which builds and caches the disc masks: its time is printed
too). Target (issue 16): ratio ≤ 3 on the CPU.
"""

from __future__ import annotations

import argparse
import time

import torch

import fpsnr.torch as ft
from fpsnr import Region


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--repeat", type=int, default=7)
    opts = parser.parse_args()
    dtype = getattr(torch, opts.dtype)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(16, 3, 512, 768, generator=gen, dtype=dtype).to(opts.device)
    y = (x + 0.03 * torch.randn(x.shape, generator=gen, dtype=dtype).to(opts.device)).clamp(0, 1)
    centres = torch.rand(16, 3, 2, generator=gen) * torch.tensor([768.0, 512.0])
    regions = [[Region((float(cx), float(cy))) for cx, cy in image] for image in centres]

    def sync() -> None:
        if opts.device.startswith("cuda"):
            torch.cuda.synchronize()

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        sync()
        start = time.perf_counter()
        fn()
        sync()
        return time.perf_counter() - start

    def metric() -> torch.Tensor:
        return ft.m_fpsnr(x, y, regions, fp=0.5)

    def plain() -> torch.Tensor:
        return ((x - y) ** 2).mean(dim=(1, 2, 3))

    cold = timed(metric)
    best = {"metric": float("inf"), "mse": float("inf")}
    for _ in range(opts.repeat):
        best["mse"] = min(best["mse"], timed(plain))
        best["metric"] = min(best["metric"], timed(metric))
    print(f"16 × 3 × 512 × 768 {opts.dtype} on {opts.device}, 3 regions per image, best of {opts.repeat}")
    print(f"plain MSE        {best['mse'] * 1000:8.1f} ms")
    print(f"m_fpsnr (warm)   {best['metric'] * 1000:8.1f} ms   ratio {best['metric'] / best['mse']:.2f}")
    print(f"m_fpsnr (first)  {cold * 1000:8.1f} ms   (builds the 16 mask sets)")


if __name__ == "__main__":
    main()
