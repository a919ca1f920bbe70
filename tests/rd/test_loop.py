"""fpsnr.rd.loop: one RD loop for every codec."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import fpsnr
from fpsnr.options import BatchOptions
from fpsnr.rd.loop import run_rd
from fpsnr.rd.schema import Coded, RatePoint


def test_one_rd_loop_for_every_codec(photos, tmp_path):
    (photos / "2.png").write_bytes(b"not an image")
    calls = []
    codecs = [FakeCodec("a", (1, 2), fail_at=2), FakeCodec("b", (3,), refuse="1.png")]
    options = BatchOptions(fps=(0.0, 0.5), missing_regions="center")
    rows = list(run_rd(photos, {}, codecs, options, progress=lambda done, total: calls.append((done, total))))
    assert [(Path(r["image"]).name, r["codec"], r["rate_point"]) for r in rows] == [
        ("0.png", "a", "s1"), ("0.png", "a", "s2"), ("0.png", "b", "s3"),
        ("1.png", "a", "s1"), ("1.png", "a", "s2"), ("1.png", "b", "s3"),
        ("2.png", "a", "s1"), ("2.png", "a", "s2"), ("2.png", "b", "s3"),
    ]  # fmt: skip
    ok = rows[0]
    assert ok["error"] == "" and ok["bytes"] == 100 and ok["bpp"] == 800 / (192 * 176)
    ref = fpsnr.read_image(photos / "0.png").astype(int)
    mse = np.mean((ref - np.clip(ref + 1, 0, 255)) ** 2)
    assert ok["psnr"] == pytest.approx(10 * math.log10(255**2 / mse), abs=1e-9)
    assert rows[1]["error"] == "coding failed" and (rows[1]["width"], rows[1]["height"]) == (192, 176)
    assert rows[5]["error"].endswith("b refuses it") and rows[5]["width"] is None
    # an unreadable image fails every point the same way, whatever the codec, with no size
    assert {r["error"] for r in rows[6:]} == {rows[6]["error"]} and "cannot decode" in rows[6]["error"]
    assert all(r["width"] is None and r["height"] is None for r in rows[6:])
    assert calls[0] == (0, 9) and calls[-1] == (9, 9) and len(calls) >= 4




class FakeCodec:
    """A codec for the RD loop without any real coding: adds a constant to every pixel."""

    def __init__(self, name, shifts, refuse=None, fail_at=None):
        self.name, self.shifts, self.refuse, self.fail_at = name, shifts, refuse, fail_at

    def points(self):
        return [RatePoint(self.name, f"s{s}", s) for s in self.shifts]

    def check(self, reference, image):
        if self.refuse is not None and self.refuse in image:
            raise fpsnr.FpsnrError(f"{image}: {self.name} refuses it")

    def code(self, reference, point, image):
        if point.quality == self.fail_at:
            raise fpsnr.FpsnrError("coding failed")
        decoded = np.clip(reference.astype(int) + int(point.quality), 0, 255).astype(np.uint8)
        nbytes = 100 * int(point.quality)
        return Coded(nbytes=nbytes, encode_seconds=0.5, decoded=decoded, decode_seconds=0.25)


def test_with_workers_each_coding_comes_back_as_soon_as_it_is_done(tmp_path):
    """Newcomer 2026-12 finding 10: with 2 workers anchors kept rows per chunk of 3
    images, so Ctrl-C in the first ~28 s kept nothing. Point n of this codec waits until
    the row of point n − 1 has reached the caller: only rows sent one coding at a time
    get through (per-image work would wait 30 s and fail)."""
    import numpy as np

    from fpsnr.images.io import write_image
    from fpsnr.options import BatchOptions
    from fpsnr.rd.loop import run_rd
    from tests.workers import WaitingCodec

    data = tmp_path / "data"
    data.mkdir()
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for name in ("a", "b"):  # (one image alone is coded in this process)
        write_image(data / f"{name}.png", pixels)
    codec = WaitingCodec(str(tmp_path), 6)
    rows = []
    options = BatchOptions(missing_regions="center")
    for row in run_rd(data, {}, [codec], options, workers=2, with_ms_ssim=False):
        assert row["error"] == "", row["error"]
        rows.append(row)
        (tmp_path / f"go-{len(rows)}").touch()
    assert [(Path(r["image"]).name, r["rate_point"]) for r in rows] == [
        (name, f"p{i}") for name in ("a.png", "b.png") for i in range(6)
    ]
