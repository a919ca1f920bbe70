"""Regions files: parsing, validation messages, default radius, resolution scaling."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fpsnr
from fpsnr import Region, Regions, RegionsError
from fpsnr.regions.model import MAX_COORD
from fpsnr.regions.regionfile import parse_regions

GOOD = {
    "image": "kodim23.png",
    "width": 768,
    "height": 512,
    "regions": [
        {"label": "parrot-left", "center": [262.0, 210.5], "radius": 70},
        {"label": "parrot-right", "center": [505, 236]},
    ],
}


def write(tmp_path, doc, name="r.json"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def test_default_radius_on_kodak_is_67_px():
    # hand-worked: 3 · 512 · tan(2.5°) = 1536 · 0.0436609 = 67.06
    assert fpsnr.regions.default_radius(768, 512) == pytest.approx(67.06, abs=0.005)
    assert fpsnr.regions.default_radius(512, 768) == fpsnr.regions.default_radius(768, 512)
    assert fpsnr.regions.default_radius(768, 512, viewing_distance=6) == pytest.approx(2 * 67.06, abs=0.01)


def test_load_single_image_file(tmp_path):
    regions = fpsnr.load_regions(write(tmp_path, GOOD))
    assert regions.width == 768 and regions.height == 512
    assert regions.regions[0] == Region((262.0, 210.5), 70.0, "parrot-left")
    assert regions.regions[1].radius is None
    discs = regions.resolve(768, 512)
    assert discs[1].radius == pytest.approx(fpsnr.regions.default_radius(768, 512))


def test_collection_file_is_matched_by_stem(tmp_path):
    other = dict(GOOD, image="kodim01.png")
    path = write(tmp_path, {"images": [GOOD, other]})
    assert fpsnr.load_regions(path, image="kodim01.jpg").image == "kodim01.png"
    with pytest.raises(RegionsError, match="holds regions of 2 images"):
        fpsnr.load_regions(path)
    with pytest.raises(RegionsError, match="no regions for image 'kodim99'"):
        fpsnr.load_regions(path, image="kodim99.png")
    assert set(fpsnr.load_region_index(path)) == {"kodim23", "kodim01"}


def test_folder_index_keys_by_file_stem(tmp_path):
    write(tmp_path, GOOD, "kodim23.json")
    write(tmp_path, dict(GOOD, image=None), "kodim05.json")
    index = fpsnr.load_region_index(tmp_path)
    assert sorted(index) == ["kodim05", "kodim23"]


def test_dump_and_load_round_trip(tmp_path):
    original = fpsnr.load_regions(write(tmp_path, GOOD))
    original.dump(tmp_path / "copy.json")
    assert fpsnr.load_regions(tmp_path / "copy.json") == original


BAD = [
    ({**GOOD, "regions": [{"center": [1, 2], "raduis": 5}]}, r"\$\.regions\[0\]: unknown key 'raduis'"),
    ({**GOOD, "regions": [{"radius": 5}]}, r"\$\.regions\[0\]: missing 'center'"),
    ({**GOOD, "regions": [{"center": [1]}]}, r"\$\.regions\[0\]\.center: expected \[x, y\]"),
    (
        {**GOOD, "regions": [{"center": ["a", 2]}]},
        r"\$\.regions\[0\]\.center\[0\]: expected a number, got a string",
    ),
    ({**GOOD, "regions": [{"center": [True, 2]}]}, r"center\[0\]: expected a number, got a boolean"),
    ({**GOOD, "regions": [{"center": [1, 2], "radius": -3}]}, r"\.radius: expected a positive number"),
    ({**GOOD, "regions": [{"center": [1, 2], "radius": "big"}]}, r"\.radius: expected a number"),
    ({**GOOD, "regions": [{"center": [1, 2], "label": 7}]}, r"\.label: expected a string"),
    ({**GOOD, "regions": []}, r"\$\.regions: is empty"),
    ({**GOOD, "regions": {"center": [1, 2]}}, r"\$\.regions: expected an array"),
    ({k: v for k, v in GOOD.items() if k != "width"}, r"\$: missing 'width'"),
    ({**GOOD, "height": 0}, r"\$\.height: expected a positive integer"),
    ({**GOOD, "height": 512.5}, r"\$\.height: expected a positive integer"),
    ([1, 2], r"\$: expected an object"),
    ({"images": [{**GOOD, "image": None}]}, r"\$\.images\[0\]: missing 'image'"),
    ({"images": []}, r"\$\.images: expected a non-empty array"),
]


@pytest.mark.parametrize("doc,message", BAD)
def test_validation_messages_name_file_and_json_path(tmp_path, doc, message):
    path = write(tmp_path, doc)
    with pytest.raises(RegionsError, match=message) as info:
        fpsnr.load_regions(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "text,message",
    [
        ('{"width": 8, "height": 8, "regions": [{"center": [NaN, 1]}]}', "NaN is not a number JSON allows"),
        ('{"width": 8, "height": 8, "regions": [{"center": [1, 1], "radius": Infinity}]}', "Infinity"),
        ('{"width": 8, "height": 8, "regions": [{"center": [1e999, 1]}]}', "expected a finite number"),
        ('{"width": 8, "height": 8, "regions": [', "invalid JSON at line 1"),
        ("", "invalid JSON"),
    ],
)
def test_hostile_json_is_rejected(tmp_path, text, message):
    with pytest.raises(RegionsError, match=message):
        fpsnr.load_regions(write(tmp_path, text))


def test_missing_file_folder_and_binary(tmp_path):
    with pytest.raises(RegionsError, match="no such regions file"):
        fpsnr.load_regions(tmp_path / "nope.json")
    with pytest.raises(RegionsError, match=r"holds no \.json regions files"):
        fpsnr.load_regions(tmp_path)  # a folder is read like batch reads it; this one is empty
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RegionsError, match="not UTF-8"):
        fpsnr.load_regions(binary)


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


def test_the_shipped_kodak_regions_are_a_name_anywhere_a_path_is(tmp_path, monkeypatch):
    from fpsnr.regions.shipped import kodak_regions

    folder = kodak_regions()
    assert sorted(p.name for p in folder.glob("*.json")) == [f"kodim{i:02d}.json" for i in range(1, 25)]
    index = fpsnr.load_region_index("kodak")
    assert sorted(index) == [f"kodim{i:02d}" for i in range(1, 25)]
    one = fpsnr.load_regions("kodak", image="kodim23.png")
    assert one == index["kodim23"] and (one.width, one.height) == (768, 512)
    with pytest.raises(RegionsError, match=r"no regions file for image 'kodim99' \(kodim99.json\)"):
        fpsnr.load_regions("kodak", image="kodim99.png")
    # a real file or folder called "kodak" wins over the shipped set
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kodak").mkdir()
    own = '{"width": 8, "height": 8, "regions": [{"center": [4, 4]}]}'
    (tmp_path / "kodak" / "kodim23.json").write_text(own)
    assert fpsnr.load_regions("kodak", image="kodim23.png").width == 8
