"""MS-SSIM against pytorch_msssim (what CompressAI reports), when it is installed."""

from __future__ import annotations

import numpy as np
import pytest

from fpsnr import ImageError
from fpsnr.rd.quality import ms_ssim


def _pair(rng, h, w):
    yy, xx = np.mgrid[0:h, 0:w]
    ref = np.clip(np.stack([xx, yy, xx + yy], 2) % 256 + rng.integers(0, 30, (h, w, 3)), 0, 255).astype(
        np.uint8
    )
    test = np.clip(ref.astype(int) + rng.integers(-25, 26, ref.shape), 0, 255).astype(np.uint8)
    return ref, test


@pytest.mark.parametrize("shape", [(192, 256), (201, 333), (170, 170)])
def test_matches_pytorch_msssim(rng, shape):
    torch = pytest.importorskip("torch")
    pms = pytest.importorskip("pytorch_msssim")
    ref, test = _pair(rng, *shape)
    as_t = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None].double()  # noqa: E731
    # pytorch_msssim builds its window in float32; give it the same window in float64
    x = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-(x**2) / (2 * 1.5**2))
    win = (g / g.sum()).repeat(3, 1, 1, 1)
    want = pms.ms_ssim(as_t(ref), as_t(test), data_range=255, win=win).item()
    assert ms_ssim(ref, test) == pytest.approx(want, abs=1e-10)
    default = pms.ms_ssim(as_t(ref), as_t(test), data_range=255).item()
    assert ms_ssim(ref, test) == pytest.approx(default, abs=1e-5)  # CompressAI's numbers


def test_identical_is_one_and_noise_lowers_it(rng):
    ref, test = _pair(rng, 180, 200)
    assert ms_ssim(ref, ref) == pytest.approx(1.0, abs=1e-12)
    assert 0 < ms_ssim(ref, test) < 1
    assert ms_ssim(ref[:, :, 0], test[:, :, 0]) < 1


def test_small_or_mismatched_images_are_refused(rng):
    ref, test = _pair(rng, 150, 400)
    with pytest.raises(ImageError, match="longer than 160 pixels"):
        ms_ssim(ref, test)
    ref, test = _pair(rng, 170, 170)
    with pytest.raises(ImageError, match="equal shapes"):
        ms_ssim(ref, test[:, :-1])
    with pytest.raises(ImageError, match="needs data_range"):
        ms_ssim(ref.astype(np.float32), test.astype(np.float32))
