"""fpsnr.regions.saliency: regions proposed from a spectral-residual saliency map."""

from __future__ import annotations

import numpy as np


def test_suggestions_keep_a_radius_from_the_border():
    """Finding 15: 29 of 114 Kodak suggestions sat within 40 px of the border, on blurred background."""
    import fpsnr
    from fpsnr.regions.saliency import suggest_regions

    yy, xx = np.mgrid[0:240, 0:360]
    img = np.full((240, 360), 90.0)
    img[(xx - 8) ** 2 + (yy - 120) ** 2 < 30**2] = 250  # a bright blob cut by the left border
    img[(xx - 200) ** 2 + (yy - 110) ** 2 < 12**2] = 10  # and one well inside
    radius = fpsnr.regions.default_radius(360, 240)
    for region in suggest_regions(img.astype(np.uint8)).regions:
        x, y = region.center
        assert min(x, y, 359 - x, 239 - y) >= radius - 1e-9
    tiny = suggest_regions(np.arange(400, dtype=np.uint8).reshape(20, 20) % 7 * 30)  # no room for the margin
    assert tiny.regions  # falls back to the faded map, still proposes
