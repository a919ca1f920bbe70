from __future__ import annotations

import json

import numpy as np
import pytest

from fpsnr.images.io import write_image


@pytest.fixture
def pair(tmp_path, rng):
    """A reference PNG, a JPEG copy of it and a regions file, all real files."""
    yy, xx = np.mgrid[0:96, 0:128]
    ref = np.stack([xx * 2, yy * 2, (xx + yy)], axis=2).astype(np.uint8)
    ref = np.clip(ref + rng.integers(0, 30, ref.shape), 0, 255).astype(np.uint8)
    write_image(tmp_path / "ref.png", ref)
    write_image(tmp_path / "test.jpg", ref, quality=40)
    regions = {
        "image": "ref.png",
        "width": 128,
        "height": 96,
        "regions": [{"label": "a", "center": [30, 30], "radius": 15}, {"label": "b", "center": [90.5, 60]}],
    }
    (tmp_path / "regions.json").write_text(json.dumps(regions))
    return tmp_path / "ref.png", tmp_path / "test.jpg", tmp_path / "regions.json"
