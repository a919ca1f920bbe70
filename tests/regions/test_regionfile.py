"""fpsnr.regions.regionfile: regions files parsed with JSON-path messages, loaded, indexed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fpsnr
import fpsnr.images.io
from fpsnr import Region, RegionsError
from fpsnr.regions.regionfile import load_regions, parse_regions
from tests.regions.conftest import write

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(
            ["width", "height", "regions", "center", "radius", "label", "image", "images", "note", "x"]
        ),
        children, max_size=5,
    ),
    max_leaves=25,
)  # fmt: skip


def test_ambiguous_regions_files_are_refused(tmp_path):
    """F6: a key given twice; one image listed twice under two extensions."""
    twice = tmp_path / "twice.json"
    twice.write_text(
        '{"width":768,"height":512,"regions":[{"center":[182,240]}],"regions":[{"center":[1,2]}]}'
    )
    with pytest.raises(RegionsError, match="key 'regions' appears twice"):
        load_regions(twice)
    both = {"images": [{"image": "kodim23.png", "width": 8, "height": 8, "regions": [{"center": [1, 1]}]},
                       {"image": "kodim23.jpg", "width": 8, "height": 8,
                        "regions": [{"center": [5, 5]}]}]}  # fmt: skip
    with pytest.raises(RegionsError, match="are the same image to fpsnr"):
        parse_regions(both)




@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_json)
def test_any_json_document_is_regions_or_one_regions_error(document):
    try:
        parsed = parse_regions(document, source="fuzz.json")
    except RegionsError as err:
        assert "\n" not in str(err) and str(err).startswith("fuzz.json: ")
    else:
        for entry in parsed:
            assert entry.regions and 1 <= entry.width and 1 <= entry.height



GOOD = {
    "image": "kodim23.png",
    "width": 768,
    "height": 512,
    "regions": [
        {"label": "parrot-left", "center": [262.0, 210.5], "radius": 70},
        {"label": "parrot-right", "center": [505, 236]},
    ],
}




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








def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    """Newcomer 2026-12 finding 17: Windows Notepad's BOM was refused with Python advice."""
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"width": 10, "height": 10, "regions": [{"center": [1, 2]}]}')
    assert fpsnr.load_regions(path).regions[0].center == (1.0, 2.0)


def test_an_integer_of_thousands_of_digits_is_one_line_without_python_advice(tmp_path):
    """Reliability 2026-12 G29: 5,000 digits gave "use sys.set_int_max_str_digits() to increase the limit"."""
    path = tmp_path / "digits.json"
    path.write_text('{"width": 10, "height": 10, "regions": [{"center": [' + "9" * 5000 + ", 2]}]}")
    with pytest.raises(fpsnr.RegionsError) as err:
        fpsnr.load_regions(path)
    assert str(err.value) == (
        f"{path}: invalid JSON: the integer 999999999999… has 5,000 digits; "
        "sizes, centres and radii are pixel counts"
    )
    path.write_text('{"width": 10, "height": 10, "regions": [{"center": [1' + "0" * 29 + ", 2]}]}")
    with pytest.raises(fpsnr.RegionsError, match=r"center\[0\]: 1(0){29} is beyond the limit"):
        fpsnr.load_regions(path)  # 30 digits are read, then judged as a coordinate


def test_x_y_r_keys_are_all_named_with_the_keys_to_write_instead(tmp_path):
    """Newcomer 2026-12 finding 18: {"x", "y", "r"} was reported as only unknown key 'r'."""
    path = tmp_path / "xyr.json"
    path.write_text('{"width": 10, "height": 10, "regions": [{"x": 1, "y": 2, "r": 3}]}')
    with pytest.raises(fpsnr.RegionsError) as err:
        fpsnr.load_regions(path)
    assert str(err.value) == (
        f"{path}: $.regions[0]: unknown keys 'r', 'x', 'y' (write x and y as \"center\": [x, y] and r as "
        "\"radius\"); allowed keys are center, label, note, radius, strength"
    )


@pytest.mark.parametrize("label", ["a\\ud800b", "\\u001b]0;owned\\u0007", "tab\\there"])
def test_labels_that_no_output_can_write_or_that_drive_a_terminal_are_refused(tmp_path, label):
    """Reliability 2026-12 G19/G26: a lone surrogate (valid JSON) crashed the table and
    every later `batch --resume`; an OSC sequence in a label reached the terminal raw."""
    path = tmp_path / "r.json"
    path.write_text('{"width": 10, "height": 10, "regions": [{"center": [4, 4], "label": "' + label + '"}]}')
    with pytest.raises(fpsnr.RegionsError, match="control character or an unpaired surrogate"):
        fpsnr.load_regions(path)
