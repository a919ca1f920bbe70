"""Region proposals per image, on one core, against decoding that image.

    python benchmarks/bench_regions.py [--repeat 30] [--image PATH]

Times ``fpsnr.regions.proposals.suggest_regions`` (the default ``signature`` method and
the older ``spectral-residual``) on a 768×512 PNG — Kodak's kodim23 when ../shared is
there, else a synthetic photo of that size — beside ``cv2.imread`` of the same file
(a floor outside fpsnr), with OpenCV and the BLAS held to one thread. Each figure is the
median of ``--repeat`` alternated rounds; the first (cold) call of each is printed apart.
Issue 27's target: the default method ≤ 100 ms per 768×512 image on one core.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from _report import Ratio, add_json_option, report  # noqa: E402

KODIM23 = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak" / "kodim23.png"


def _seconds(call, *args, **kwargs) -> float:
    start = time.perf_counter()
    call(*args, **kwargs)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--image", type=Path, default=KODIM23)
    add_json_option(parser)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    from fpsnr.images.io import read_image
    from fpsnr.regions.proposals import suggest_regions

    with tempfile.TemporaryDirectory() as tmp:
        path = args.image
        if not path.is_file():
            rng = np.random.default_rng(0)
            path = Path(tmp) / "photo.png"
            noise = rng.integers(0, 256, (512, 768, 3)).astype(np.uint8)
            cv2.imwrite(str(path), cv2.GaussianBlur(noise, (0, 0), 4))
        image = read_image(path)
        cold = {m: _seconds(suggest_regions, image, method=m) for m in ("signature", "spectral-residual")}
        times: dict[str, list[float]] = {"decode": [], "signature": [], "spectral-residual": []}
        for _ in range(args.repeat):
            times["decode"].append(_seconds(cv2.imread, str(path), cv2.IMREAD_COLOR))
            for method in ("signature", "spectral-residual"):
                times[method].append(_seconds(suggest_regions, image, method=method))
    med = {k: statistics.median(v) for k, v in times.items()}
    h, w = image.shape[:2]
    print(f"{path.name} ({w}×{h}), one thread, median of {args.repeat} rounds:")
    print(f"  cv2.imread                 {1000 * med['decode']:7.2f} ms")
    for method in ("signature", "spectral-residual"):
        first = 1000 * cold[method]
        print(f"  suggest --method {method:17s} {1000 * med[method]:7.2f} ms (first call {first:.1f} ms)")
    report(
        [
            Ratio(
                f"regions suggest (signature) ÷ cv2.imread, {w}×{h}", med["signature"] / med["decode"], None
            ),
            Ratio(
                f"regions suggest (signature), ms per {w}×{h} image, 1 core",
                1000 * med["signature"],
                "<=",
                100,
            ),
        ],
        args.json,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
