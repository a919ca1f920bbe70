"""RD rows, classical anchors, BD-rate and plots."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.interpolate import Akima1DInterpolator, CubicSpline, PchipInterpolator

import fpsnr
from fpsnr.options import BatchOptions
from fpsnr.rd.anchors import ANCHORS, run_anchors
from fpsnr.rd.bdrate import bd_rate
from fpsnr.rd.loop import run_rd
from fpsnr.rd.plots import plot_rd, ratio_table
from fpsnr.rd.rdfile import read_rd_csv, write_rd_csv
from fpsnr.rd.schema import Coded, RatePoint, fp_column, rd_columns, rd_row
from fpsnr.regions.model import Region, Regions
from tests.conftest import write_photos

# Published example of the bjontegaard package (x265 presets): rate in kbps, PSNR in dB
R1 = [9487.76, 4593.60, 2486.44, 1358.24]
D1 = [40.037, 38.615, 36.845, 34.851]
R2 = [9787.80, 4469.00, 2451.52, 1356.24]
D2 = [40.121, 38.651, 36.970, 34.987]


def _independent_bd_rate(interp, r1, d1, r2, d2):
    """BD-rate from its definition with scipy's interpolators: mean log-rate gap over the
    shared quality range (Bjøntegaard, VCEG-M33)."""
    f1 = interp(np.sort(d1), np.log10(np.array(r1))[np.argsort(d1)])
    f2 = interp(np.sort(d2), np.log10(np.array(r2))[np.argsort(d2)])
    lo, hi = max(min(d1), min(d2)), min(max(d1), max(d2))
    return (10 ** ((f2.integrate(lo, hi) - f1.integrate(lo, hi)) / (hi - lo)) - 1) * 100


def _frame(curves, images=2):
    rows = []
    for codec, (rates, dists) in curves.items():
        for i, (r, d) in enumerate(zip(rates, dists, strict=True)):
            for k in range(images):  # equal per-image values: the mean is the curve itself
                rows.append({"codec": codec, "rate_point": f"p{i}", "image": f"im{k}", "bpp": r, "psnr": d,
                             "m_fpsnr_fp0.5": d + 0.2, "error": ""})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "method,interp", [("akima", Akima1DInterpolator), ("pchip", PchipInterpolator), ("cubic", CubicSpline)]
)
def test_bd_rate_matches_the_definition_on_the_published_example(method, interp):
    rd = _frame({"x265-a": (R1, D1), "x265-b": (R2, D2)})
    result = bd_rate(rd, "x265-a", "x265-b", metric="psnr", method=method)
    assert result.bd_rate == pytest.approx(_independent_bd_rate(interp, R1, D1, R2, D2), abs=1e-6)
    assert result.bd_rate == pytest.approx(-4.42, abs=0.01)
    assert result.points == (4, 4) and result.overlap == pytest.approx(1.0, abs=0.05)


def test_bd_rate_of_a_curve_against_itself_scaled():
    rd = _frame({"a": (R1, D1), "half": ([r / 2 for r in R1], D1)})
    assert bd_rate(rd, "a", "half").bd_rate == pytest.approx(-50.0, abs=1e-9)
    assert bd_rate(rd, "a", "half", metric="m_fpsnr", fp=0.5).bd_rate == pytest.approx(-50.0, abs=1e-9)


def test_bd_rate_errors():
    rd = _frame({"a": (R1, D1), "three": (R2[:3], D2[:3]), "bumpy": (R2, [40.1, 36.0, 37.0, 34.9])})
    with pytest.raises(fpsnr.ParameterError, match="3 rate point"):
        bd_rate(rd, "a", "three")
    with pytest.raises(fpsnr.ParameterError, match="not monotonic"):
        bd_rate(rd, "a", "bumpy")
    with pytest.raises(fpsnr.ParameterError, match="no rows for codec 'nope'"):
        bd_rate(rd, "a", "nope")
    with pytest.raises(fpsnr.ParameterError, match="unknown method"):
        bd_rate(rd, "a", "bumpy", method="linear")
    far = _frame({"a": (R1, D1), "far": (R1, [d + 30 for d in D1])})
    with pytest.raises(fpsnr.ParameterError, match="do not overlap"):
        bd_rate(far, "a", "far")
    failed = _frame({"a": (R1, D1), "b": (R2, D2)})
    failed.loc[3, "error"] = "boom"
    with pytest.raises(fpsnr.ParameterError, match="1 failed row"):
        bd_rate(failed, "a", "b")


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


@pytest.fixture
def photos(tmp_path, rng):
    return write_photos(tmp_path / "data", rng, count=2, height=176, width=192)


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


def test_plot_and_ratio_table(tmp_path):
    rd = _frame({"jpeg": (R1, D1), "webp": (R2, D2)})
    plot_rd(rd, tmp_path / "rd.png", metric="m_fpsnr", fp=0.5)
    assert (tmp_path / "rd.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = ratio_table(rd, "jpeg", [0.5])
    assert table["Fp=0.5"].iloc[0] == pytest.approx(100 * ((D1[3] + 0.2) / D1[3] - 1))
    assert list(table.index) == ["p3", "p2", "p1", "p0"]  # ordered by rate
    assert math.isclose(table["average"].iloc[0], table["Fp=0.5"].iloc[0])


class _FakeCodec:
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


def test_one_rd_loop_for_every_codec(photos, tmp_path):
    (photos / "2.png").write_bytes(b"not an image")
    calls = []
    codecs = [_FakeCodec("a", (1, 2), fail_at=2), _FakeCodec("b", (3,), refuse="1.png")]
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


def test_rd_csv_is_written_as_rows_come_and_a_refused_run_leaves_nothing(photos, tmp_path):
    out = tmp_path / "out" / "rd.csv"
    seen = []

    def rows():
        for k in range(3):
            if k == 1:  # the first row is already on disk, in the partial file
                seen.append((tmp_path / "out" / "rd.csv.partial").read_text().count("\n"))
            yield {"codec": "c", "rate_point": f"p{k}", "quality": k, "image": "a.png", "bpp": 0.1 * k,
                   "error": "line one\nline two" if k == 2 else ""}  # fmt: skip

    written = write_rd_csv(rows(), out, (0.5,))
    assert len(written) == 3 and seen == [2]
    assert sorted(p.name for p in out.parent.iterdir()) == ["rd.csv"]
    back = read_rd_csv(out)
    assert list(back["rate_point"]) == ["p0", "p1", "p2"] and back["error"][2] == "line one\nline two"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(fpsnr.ParameterError, match="no images found"):
        write_rd_csv(run_rd(empty, {}, [_FakeCodec("a", (1,))], BatchOptions()), tmp_path / "no.csv", (0.5,))
    assert not list(tmp_path.glob("no.csv*"))
