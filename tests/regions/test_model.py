"""fpsnr.regions.model: regions, their limits, the default radius, resolution scaling."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import fpsnr
import fpsnr.images.io
from fpsnr import Region, Regions, RegionsError
from fpsnr.cli import cli
from fpsnr.regions.model import MAX_COORD
from fpsnr.regions.regionfile import parse_regions
from tests.conftest import one_line_error


@pytest.mark.parametrize(
    "doc",
    [
        {"width": 768, "height": 512, "regions": [{"center": [1e200, 0], "radius": 1},
                                                   {"center": [-1e200, 0], "radius": 1}]},  # F4
        {"width": 768, "height": 512, "regions": [{"center": [1e300, 1e300], "radius": 1e300}]},  # F5
        {"width": 768, "height": 512, "regions": [{"center": [1e12, 10]}]},  # F27
    ],
)  # fmt: skip
def test_far_away_regions_are_one_line_errors_everywhere(pair, doc, tmp_path):
    ref, test, _ = pair
    path = tmp_path / "far.json"
    path.write_text(json.dumps(doc))
    runner = CliRunner()
    for args in (["score", str(ref), str(test), "--regions", str(path), "--fp", "0"],
                 ["regions", "show", str(ref), str(path), "-o", str(tmp_path / "o.png")]):  # fmt: skip
        assert "beyond the limit of 16,777,216 pixels" in one_line_error(runner.invoke(cli, args))
    res = runner.invoke(cli, ["regions", "check", str(path)])
    assert res.exit_code == 1 and "Traceback" not in res.output and "beyond the limit" in res.stderr




def test_default_radius_on_kodak_is_67_px():
    # hand-worked: 3 · 512 · tan(2.5°) = 1536 · 0.0436609 = 67.06
    assert fpsnr.regions.default_radius(768, 512) == pytest.approx(67.06, abs=0.005)
    assert fpsnr.regions.default_radius(512, 768) == fpsnr.regions.default_radius(768, 512)
    assert fpsnr.regions.default_radius(768, 512, viewing_distance=6) == pytest.approx(2 * 67.06, abs=0.01)




def test_huge_radius_is_accepted_and_clipped_up_to_the_coordinate_limit():
    regions = Regions((Region((4, 4), MAX_COORD),), width=8, height=8)
    (disc,) = regions.resolve(8, 8)
    assert fpsnr.regions.discs.disc_mask((8, 8), (disc.x, disc.y), disc.radius).all()




@pytest.mark.parametrize(
    ("center", "radius", "text"),
    [
        ((1e200, 0), 1, "farther than 16,777,216 px"),  # F4: squared distances overflowed
        ((-1e200, 0), 1, "farther than 16,777,216 px"),
        ((4, 4), 1e300, "larger than the limit of 16,777,216 px"),  # F5: inf <= inf held every pixel
        ((1e12, 10), None, "farther than"),  # F27: cv2.circle could not take the centre
    ],
)
def test_coordinates_beyond_the_limit_are_refused(center, radius, text):
    with pytest.raises(RegionsError, match=text):
        Region(center, radius)
    doc = {"width": 768, "height": 512, "regions": [{"center": list(center), "radius": radius}]}
    with pytest.raises(RegionsError, match="beyond the limit"):
        parse_regions(doc)




def test_resolution_scaling_same_aspect():
    regions = Regions((Region((262.0, 210.5), 70.0), Region((505, 236))), width=768, height=512)
    half = regions.resolve(384, 256)
    assert (half[0].x, half[0].y) == ((262.0 + 0.5) * 0.5 - 0.5, (210.5 + 0.5) * 0.5 - 0.5)
    assert half[0].radius == 35.0
    assert half[1].radius == pytest.approx(fpsnr.regions.default_radius(384, 256))
    # one pixel of rounding in the size is still the same aspect ratio
    assert regions.resolve(383, 256)[0].radius == pytest.approx(35.0)




def test_resolution_scaling_rejects_other_aspect():
    regions = Regions((Region((10, 10), 5.0),), width=768, height=512, source="k.json")
    with pytest.raises(
        RegionsError, match=r"k\.json: regions were written for 768×512 but the image is 512×512"
    ):
        regions.resolve(512, 512)




@settings(max_examples=50, deadline=None)
@given(st.floats(0.1, 4.0), st.floats(-50, 800), st.floats(-50, 600))
def test_property_scaling_there_and_back_is_identity(scale, x, y):
    w, h = 768, 512
    w2, h2 = round(w * scale), round(h * scale)
    if min(w2, h2) < 1 or abs((w2 / w) / (h2 / h) - 1) > 1 / 512 + 1 / min(w2, h2):
        return
    there = Regions((Region((x, y), 10.0),), width=w, height=h).resolve(w2, h2)[0]
    back = Regions((Region((there.x, there.y), there.radius),), width=w2, height=h2).resolve(w, h)[0]
    assert math.isclose(back.x, x, abs_tol=1e-9) and math.isclose(back.y, y, abs_tol=1e-9)
    assert math.isclose(back.radius, 10.0, rel_tol=1e-12)




def test_plain_region_list_is_in_image_pixels():
    img = __import__("numpy").zeros((100, 200), "uint8")
    s = fpsnr.score(img, img, [Region((10, 10), 5.0)], fp=0.0)
    assert s.regions[0].center == (10.0, 10.0)
    with pytest.raises(RegionsError, match="no regions given"):
        fpsnr.score(img, img, [], fp=0.0)
