"""fpsnr.rd.plots: the RD figure and the ratio table."""

from __future__ import annotations

import math

import pytest

from fpsnr.rd.plots import plot_rd, ratio_table
from tests.rd.test_bdrate import D1, D2, R1, R2, frame_of


def test_plot_and_ratio_table(tmp_path):
    rd = frame_of({"jpeg": (R1, D1), "webp": (R2, D2)})
    plot_rd(rd, tmp_path / "rd.png", metric="m_fpsnr", fp=0.5)
    assert (tmp_path / "rd.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = ratio_table(rd, "jpeg", [0.5])
    assert table["Fp=0.5"].iloc[0] == pytest.approx(100 * ((D1[3] + 0.2) / D1[3] - 1))
    assert list(table.index) == ["p3", "p2", "p1", "p0"]  # ordered by rate
    assert math.isclose(table["average"].iloc[0], table["Fp=0.5"].iloc[0])


def test_a_lossless_image_has_no_ratio_and_does_not_read_minus_100_percent():
    """G29: rows with PSNR = inf printed −100.000 % for every Fp."""
    rd = frame_of({"jpeg": (R1, D1)})
    top = rd["rate_point"] == "p3"
    first = top & (rd["image"] == "im0")
    rd.loc[first, "psnr"] = math.inf  # one image coded losslessly at p3: its periphery is exact
    table = ratio_table(rd, "jpeg", [0.5])
    assert table.loc["p3", "Fp=0.5"] == pytest.approx(100 * ((D1[3] + 0.2) / D1[3] - 1))  # im1 alone
    rd.loc[top, "psnr"] = math.inf
    rd.loc[top, "m_fpsnr_fp0.5"] = math.inf
    assert math.isnan(ratio_table(rd, "jpeg", [0.5]).loc["p3", "Fp=0.5"])
