"""How far other tools' "PSNR" conventions land from fpsnr's, measured on the same pairs.

    python scripts/conventions.py [--kodak ../shared/data/kodak] [--quality 10,30,50,75]

Pairs: every Kodak image against its JPEG (OpenCV, libjpeg-turbo) at each quality. For
each convention the difference to fpsnr's number is reported over all pairs (min, mean,
max, dB); a positive difference means the other convention reports a higher PSNR.

- Y conventions against ``fpsnr --channel y`` (BT.601 full-range luma, float64, unrounded):
  luma rounded to 8 bits; the studio-range Y of skimage's ``rgb2ycbcr`` (16–235, as
  ffmpeg's ``psnr`` filter sees a yuv420p frame), unrounded and rounded; the BT.709 gray
  of skimage's ``rgb2gray``.
- The JPEG decoder: the same JPEG bytes decoded by Pillow instead of OpenCV, RGB PSNR
  (CompressAI's published JPEG curve was decoded by Pillow).
"""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

import cv2
import numpy as np

import fpsnr
from fpsnr.images.pairs import luma

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"


def _psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kodak", type=Path, default=KODAK)
    parser.add_argument("--quality", default="10,30,50,75")
    opts = parser.parse_args()
    from PIL import Image, features
    from skimage.color import rgb2gray, rgb2ycbcr

    files = sorted(opts.kodak.glob("kodim*.png"))
    if not files:
        raise SystemExit(f"{opts.kodak}: no kodim*.png")
    qualities = [int(q) for q in opts.quality.split(",")]
    diffs: dict[str, list[float]] = {}
    for path in files:
        ref = fpsnr.read_image(path)
        for q in qualities:
            bgr = cv2.cvtColor(ref, cv2.COLOR_RGB2BGR)
            ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, q])
            assert ok
            test = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            ours_y = fpsnr.psnr(ref, test, channel="y")
            y_ref, y_test = luma(ref), luma(test)
            ys_ref, ys_test = rgb2ycbcr(ref)[..., 0], rgb2ycbcr(test)[..., 0]
            alternatives = {
                "Y rounded to 8 bits": _psnr(np.round(y_ref), np.round(y_test), 255),
                "studio-range Y (skimage rgb2ycbcr)": _psnr(ys_ref, ys_test, 255),
                "studio-range Y rounded (ffmpeg psnr)": _psnr(np.round(ys_ref), np.round(ys_test), 255),
                "BT.709 gray (skimage rgb2gray)": _psnr(rgb2gray(ref), rgb2gray(test), 1.0),
            }
            for name, value in alternatives.items():
                diffs.setdefault(name, []).append(value - ours_y)
            pillow = np.asarray(Image.open(io.BytesIO(data.tobytes())).convert("RGB"))
            diffs.setdefault("JPEG decoded by Pillow (RGB PSNR)", []).append(
                fpsnr.psnr(ref, pillow) - fpsnr.psnr(ref, test)
            )
            assert abs(_psnr(y_ref, y_test, 255) - ours_y) < 1e-9  # the naive formula agrees with fpsnr
    turbo = features.check_feature("libjpeg_turbo")
    print(f"{len(files)} Kodak images × JPEG q {opts.quality} (OpenCV {cv2.__version__}); "
          f"Pillow {Image.__version__} with {'libjpeg-turbo' if turbo else 'IJG libjpeg'} "
          f"{features.version('jpg')}")  # fmt: skip
    print("| convention | min dB | mean dB | max dB |")
    print("|---|---|---|---|")
    for name, values in diffs.items():
        print(f"| {name} | {min(values):+.3f} | {np.mean(values):+.3f} | {max(values):+.3f} |")


if __name__ == "__main__":
    main()
