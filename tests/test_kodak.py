"""Real Kodak images against real JPEG copies (skipped without ../shared)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

import fpsnr
from fpsnr.images.io import write_image
from tests.reference import close_db, naive_score

pytestmark = pytest.mark.kodak


@pytest.mark.parametrize("name", ["kodim04.png", "kodim23.png"])  # portrait and landscape
def test_kodak_against_jpeg_matches_naive_and_skimage(kodak_dir, tmp_path, name):
    ref = fpsnr.read_image(kodak_dir / name)
    write_image(tmp_path / "t.jpg", ref, quality=25)
    test = fpsnr.read_image(tmp_path / "t.jpg")
    h, w = ref.shape[:2]
    discs = [(w * 0.3, h * 0.4, None), (w * 0.7 + 0.5, h * 0.45 + 0.25, 40.0)]
    regions = [fpsnr.Region((x, y), r) for x, y, r in discs]
    s = fpsnr.score(ref, test, regions, fp=0.5)
    assert s.psnr == pytest.approx(peak_signal_noise_ratio(ref, test), abs=1e-9)
    resolved = [(x, y, r if r is not None else fpsnr.regions.default_radius(w, h)) for x, y, r in discs]
    want = naive_score(ref, test, resolved, peak=255, fp=0.5)
    assert close_db(s.m_fpsnr, want["m_fpsnr"])
    assert abs(s.mean_fpsnr - s.psnr) < 5  # same ballpark, as in the paper's Table 1
    assert np.isfinite(s.m_fpsnr)
