"""fpsnr.rd.bdrate: BD-rate against an independent computation of its definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.interpolate import Akima1DInterpolator, CubicSpline, PchipInterpolator

import fpsnr
from fpsnr.rd.bdrate import bd_rate

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




def frame_of(curves, images=2):
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
    rd = frame_of({"x265-a": (R1, D1), "x265-b": (R2, D2)})
    result = bd_rate(rd, "x265-a", "x265-b", metric="psnr", method=method)
    assert result.bd_rate == pytest.approx(_independent_bd_rate(interp, R1, D1, R2, D2), abs=1e-6)
    assert result.bd_rate == pytest.approx(-4.42, abs=0.01)
    assert result.points == (4, 4) and result.overlap == pytest.approx(1.0, abs=0.05)




def test_bd_rate_of_a_curve_against_itself_scaled():
    rd = frame_of({"a": (R1, D1), "half": ([r / 2 for r in R1], D1)})
    assert bd_rate(rd, "a", "half").bd_rate == pytest.approx(-50.0, abs=1e-9)
    assert bd_rate(rd, "a", "half", metric="m_fpsnr", fp=0.5).bd_rate == pytest.approx(-50.0, abs=1e-9)




def test_bd_rate_errors():
    rd = frame_of({"a": (R1, D1), "three": (R2[:3], D2[:3]), "bumpy": (R2, [40.1, 36.0, 37.0, 34.9])})
    with pytest.raises(fpsnr.ParameterError, match="3 rate point"):
        bd_rate(rd, "a", "three")
    with pytest.raises(fpsnr.ParameterError, match="not monotonic"):
        bd_rate(rd, "a", "bumpy")
    with pytest.raises(fpsnr.ParameterError, match="no rows for codec 'nope'"):
        bd_rate(rd, "a", "nope")
    with pytest.raises(fpsnr.ParameterError, match="unknown method"):
        bd_rate(rd, "a", "bumpy", method="linear")
    far = frame_of({"a": (R1, D1), "far": (R1, [d + 30 for d in D1])})
    with pytest.raises(fpsnr.ParameterError, match="do not overlap"):
        bd_rate(far, "a", "far")
    failed = frame_of({"a": (R1, D1), "b": (R2, D2)})
    failed.loc[3, "error"] = "boom"
    with pytest.raises(fpsnr.ParameterError, match="1 failed row"):
        bd_rate(failed, "a", "b")


def test_a_missing_metric_column_lists_what_the_file_has():
    """Newcomer 2026-12 finding 18: `bdrate --fp 0.25` did not say which Fps the file has."""
    rd = frame_of({"a": (R1, D1), "b": (R2, D2)})
    with pytest.raises(fpsnr.ParameterError) as err:
        bd_rate(rd, "a", "b", metric="m_fpsnr", fp=0.25)
    assert str(err.value) == "the RD file has no column 'm_fpsnr_fp0.25'; it has psnr, and M-FPSNR at Fp 0.5"


def test_a_header_only_rd_file_says_it_has_no_rows(tmp_path):
    """G29: the message ended in 'the file has ' with nothing after it."""
    from click.testing import CliRunner

    from fpsnr.cli import cli
    from tests.conftest import one_line_error

    path = tmp_path / "rd.csv"
    path.write_text("codec,rate_point,image,bpp,psnr,error\n")
    line = one_line_error(CliRunner().invoke(cli, ["bdrate", str(path), "--anchor", "a", "--test", "b"]))
    assert line.endswith("no rows for codec 'a'; the file has no rows")


def test_the_kbps_axis_of_a_video_rd_table_is_the_rate_of_the_definition():
    """Video RD files carry kbps beside bpp; BD-rate along kbps follows the definition on kbps."""
    frame = frame_of({"a": (R1, D1), "b": (R2, D2)}, images=1)
    frame["kbps"] = frame["bpp"]
    frame["bpp"] = frame["kbps"] / 1000 / 7.0  # one sequence: bpp ∝ kbps, the same BD-rate
    want = _independent_bd_rate(Akima1DInterpolator, R1, D1, R2, D2)
    assert bd_rate(frame, "a", "b", rate="kbps").bd_rate == pytest.approx(want, abs=1e-9)
    assert bd_rate(frame, "a", "b").bd_rate == pytest.approx(want, abs=1e-9)
    # two sequences of other sizes: the mean kbps and the mean bpp are other curves
    other = frame.assign(image="im1", kbps=frame["kbps"] * 4, bpp=frame["bpp"] / 3)
    both = pd.concat([frame, other], ignore_index=True)
    by_kbps = bd_rate(both, "a", "b", rate="kbps").bd_rate
    mean = both.groupby(["codec", "rate_point"])["kbps"].mean()
    r1 = [mean[("a", f"p{i}")] for i in range(4)]
    r2 = [mean[("b", f"p{i}")] for i in range(4)]
    assert by_kbps == pytest.approx(_independent_bd_rate(Akima1DInterpolator, r1, D1, r2, D2), abs=1e-9)
    with pytest.raises(fpsnr.ParameterError, match="the RD file has no kbps column"):
        bd_rate(frame_of({"a": (R1, D1), "b": (R2, D2)}), "a", "b", rate="kbps")
