"""fpsnr.rd.anchors: the classical codecs as RD codecs, real bytes."""

from __future__ import annotations

import pytest

import fpsnr
from fpsnr.rd.anchors import ANCHORS, run_anchors
from fpsnr.rd.rdfile import read_rd_csv, write_rd_csv
from fpsnr.rd.schema import fp_column, rd_columns


def test_anchors_follow_the_schema_and_real_bytes(photos, tmp_path):
    fps = (0.0, 0.5)
    rows = run_anchors(photos, {}, ["jpeg", "webp"], fps=fps, qualities={"jpeg": [20, 80], "webp": [20, 80]},
                       missing_regions="center")  # fmt: skip
    assert len(rows) == 2 * 2 * 2 and all(r["error"] == "" for r in rows)
    write_rd_csv(rows, tmp_path / "rd.csv", fps)
    rd = read_rd_csv(tmp_path / "rd.csv")
    assert list(rd.columns) == rd_columns(fps)
    jpeg = rd[rd["codec"] == "jpeg"].groupby("quality")[["bpp", "psnr"]].mean()
    assert jpeg.loc[80, "bpp"] > jpeg.loc[20, "bpp"] and jpeg.loc[80, "psnr"] > jpeg.loc[20, "psnr"]
    assert rd[fp_column(0.5)].notna().all() and (rd["ms_ssim"] <= 1).all()
    assert set(ANCHORS) >= {"jpeg", "webp", "jp2", "avif"}




def test_anchor_errors(photos):
    with pytest.raises(fpsnr.ParameterError, match="unknown anchor codec 'bpg'"):
        run_anchors(photos, {}, ["bpg"])
    rows = run_anchors(photos, {}, ["jpeg"], qualities={"jpeg": [50]})
    assert all("no regions for" in r["error"] for r in rows)
