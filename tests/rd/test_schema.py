"""fpsnr.rd.schema: one RD row, its numbers from the core engine."""

from __future__ import annotations

import numpy as np

import fpsnr
from fpsnr.rd.schema import rd_columns, rd_row
from fpsnr.regions.model import Region, Regions


def test_rd_row_numbers_come_from_the_core_engine(rng):
    ref = rng.integers(0, 256, (180, 200, 3), dtype=np.uint8)
    dec = np.clip(ref.astype(int) + rng.integers(-9, 10, ref.shape), 0, 255).astype(np.uint8)
    regions = Regions((Region((50, 60), 20.0),), width=200, height=180)
    common = {"codec": "x", "rate_point": "q1", "quality": 1, "image": "a.png", "regions": regions}
    row = rd_row(**common, reference=ref, decoded=dec, nbytes=4500, encode_seconds=0.1, decode_seconds=0.2,
                 fps=(0.0, 0.5))  # fmt: skip
    want = fpsnr.score(ref, dec, regions, fp=0.5)
    assert row["m_fpsnr_fp0.5"] == want.m_fpsnr and row["psnr"] == want.psnr
    assert row["bpp"] == 8 * 4500 / (180 * 200) and row["error"] == ""
    assert list(row) == rd_columns((0.0, 0.5))




def test_non_finite_decoded_image_is_an_error_row(rng):
    ref = rng.random((180, 180, 3)).astype(np.float32)
    dec = ref.copy()
    dec[0, 0, 0] = np.nan
    regions = Regions((Region((50, 60), 20.0),), width=180, height=180)
    row = rd_row(codec="x", rate_point="q1", quality=1, image="a.png", reference=ref, decoded=dec, nbytes=10,
                 encode_seconds=0, decode_seconds=0, regions=regions, fps=(0.5,))  # fmt: skip
    assert row["error"] == "decoded image holds NaN or inf values"
    assert row["psnr"] is None and row["bpp"] is None
