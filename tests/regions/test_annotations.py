"""fpsnr.regions.annotations and `fpsnr regions from-*`: regions from fixations, COCO boxes, masks."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import fpsnr
from fpsnr.cli import cli
from fpsnr.images.io import write_image
from fpsnr.regions.annotations import (
    read_fixation_csv,
    read_fixation_map,
    read_salicon,
    regions_from_coco,
    regions_from_mask,
    regions_from_points,
)
from tests.conftest import one_line_error

R640 = fpsnr.regions.default_radius(640, 480)  # 62.88 px


def _clusters():
    a = [(100 + dx, 100 + dy) for dx, dy in ((-4, 0), (4, 0), (0, -4), (0, 4), (2, 2), (-2, -2))]
    b = [(300, 100), (306, 100), (303, 106)]
    return np.asarray([*a, *b, (500, 300)], dtype=float)


def test_fixation_discs_by_hand():
    # 6 fixations around (100, 100), 3 around (303, 102), 1 alone at (500, 300)
    got = regions_from_points(_clusters(), 640, 480, image_name="a.png").regions
    assert [g.center for g in got] == [(100.0, 100.0), (303.0, 102.0), (500.0, 300.0)]
    assert [g.strength for g in got] == [0.6, 0.3, 0.1]
    assert [g.label for g in got] == ["fixation-1", "fixation-2", "fixation-3"]
    assert len(regions_from_points(_clusters(), 640, 480, min_share=0.2).regions) == 2
    # durations weight: the three long fixations now come first
    weights = [1] * 6 + [10] * 3 + [1]
    first = regions_from_points(_clusters(), 640, 480, weights=weights).regions[0]
    assert first.center == (303.0, 102.0) and first.strength == pytest.approx(30 / 37, abs=1e-4)
    # fixations off the picture hold nothing; none on it is an error
    off = np.vstack([_clusters(), [[-50, 10], [700, 10]]])
    assert [g.strength for g in regions_from_points(off, 640, 480).regions] == [0.6, 0.3, 0.1]
    with pytest.raises(fpsnr.RegionsError, match="no fixation lies on the 640×480 picture"):
        regions_from_points([[-5, -5]], 640, 480)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 40), st.just(2)), elements=st.floats(0, 255)))
def test_each_fixation_disc_holds_what_its_strength_says_and_they_never_double_count(points):
    got = regions_from_points(points, 256, 256, max_regions=5, min_share=0.0).regions
    r = fpsnr.regions.default_radius(256, 256)
    left = np.ones(len(points), bool)
    for region in got:  # an independent count: fixations within R not held by an earlier disc
        x, y = region.center
        inside = left & ((points[:, 0] - x) ** 2 + (points[:, 1] - y) ** 2 <= r * r)
        assert region.strength == round(inside.sum() / len(points), 4)
        left &= ~inside
    assert sum(g.strength for g in got) <= 1 + 1e-3


def test_fixation_csv_by_hand_and_its_errors(tmp_path):
    path = tmp_path / "fix.csv"
    path.write_text(
        "image,x,y,duration,width,height\na.png,10,20,0.5,64,48\na.png,12,20,0.25,64,48\nb.png,1,2,1,8,8\n"
    )
    got = read_fixation_csv(path)
    np.testing.assert_array_equal(got["a.png"][0], [[10, 20], [12, 20]])
    np.testing.assert_array_equal(got["a.png"][1], [0.5, 0.25])
    assert got["a.png"][2] == (64, 48) and got["b.png"][2] == (8, 8)
    cases = {
        "image,x\na.png,1\n": "line 1: the header lacks y",
        "image,x,y\na.png,1,abc\n": "line 2, column y: expected a number, got 'abc'",
        "image,x,y\na.png,1,nan\n": "line 2, column y: expected a finite number",
        "image,x,y,duration\na.png,1,2,-1\n": "column duration: a duration cannot be negative",
        "image,x,y,width,height\na.png,1,2,64,48\na.png,1,2,64,40\n": "line 3: a.png was 64×48 on an earlier",
        "image,x,y\n": "the file has no fixations, only a header",
        "image,x,y\n,1,2\n": "line 2: column image is empty",
    }
    for text, message in cases.items():
        path.write_text(text)
        with pytest.raises(fpsnr.RegionsError, match=message):
            read_fixation_csv(path)


def test_drop_first_leaves_out_each_trial_s_first_fixation(tmp_path):
    path = tmp_path / "fix.csv"
    path.write_text("image,subject,order,x,y\na.png,1,1,32,24\na.png,1,2,5,6\na.png,2,1,31,23\na.png,2,2,7,8\n")
    np.testing.assert_array_equal(read_fixation_csv(path)["a.png"][0], [[32, 24], [5, 6], [31, 23], [7, 8]])
    np.testing.assert_array_equal(read_fixation_csv(path, drop_first=True)["a.png"][0], [[5, 6], [7, 8]])
    path.write_text("image,x,y\na.png,1,2\n")
    with pytest.raises(fpsnr.RegionsError, match="line 1: leaving out first fixations needs an order column"):
        read_fixation_csv(path, drop_first=True)


def test_salicon_rows_and_columns_are_one_based(tmp_path):
    doc = {
        "images": [{"id": 7, "file_name": "COCO_1.jpg", "width": 640, "height": 480}],
        "annotations": [{"image_id": 7, "worker_id": 1, "fixations": [[51, 101], [51, 101], [300, 400]]}],
    }
    path = tmp_path / "salicon.json"
    path.write_text(json.dumps(doc))
    points, weights, size = read_salicon(path)["COCO_1.jpg"]
    np.testing.assert_array_equal(points, [[100, 50], [100, 50], [399, 299]])
    assert size == (640, 480) and list(weights) == [1, 1, 1]
    doc["annotations"][0]["fixations"][1] = [51]
    path.write_text(json.dumps(doc))
    with pytest.raises(
        fpsnr.RegionsError, match=r"\$\.annotations\[0\]\.fixations\[1\]: expected \[row, col\]"
    ):
        read_salicon(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_fixation_map_s_bright_pixels_are_its_fixations(tmp_path, suffix):
    grid = np.zeros((48, 64), np.uint8)
    grid[10, 20] = grid[30, 40] = 255
    path = tmp_path / f"scene_fixPts{suffix}"
    write_image(path, grid, quality=90) if suffix == ".jpg" else write_image(path, grid)
    points, size = read_fixation_map(path)
    assert size == (64, 48)
    assert {tuple(p) for p in points.astype(int)} == {(20, 10), (40, 30)}  # JPEG ringing left out


def _coco(tmp_path):
    doc = {
        "images": [{"id": 1, "file_name": "p.jpg", "width": 640, "height": 480},
                   {"id": 2, "file_name": "q.jpg", "width": 640, "height": 480}],
        "categories": [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}],
        "annotations": [
            {"id": 11, "image_id": 1, "category_id": 1, "bbox": [100, 50, 40, 160], "iscrowd": 0},  # 40
            {"id": 12, "image_id": 1, "category_id": 18, "bbox": [300, 300, 10, 10], "iscrowd": 0},  # 5 → R/2
            {"id": 13, "image_id": 1, "category_id": 1, "bbox": [0, 0, 640, 480], "iscrowd": 1},  # crowd
            {"id": 14, "image_id": 2, "category_id": 1, "bbox": [0, 0, 600, 400], "iscrowd": 0},  # 245 → 2R
        ],
    }  # fmt: skip
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(doc))
    return path


def test_coco_boxes_by_hand(tmp_path):
    path = _coco(tmp_path)
    got = {e.image: e for e in regions_from_coco(path)}
    person, dog = got["p.jpg"].regions
    assert person.center == (119.5, 129.5) and person.radius == 40.0 and person.label == "person-11"
    assert dog.center == (304.5, 304.5) and dog.radius == round(R640 / 2, 2) and dog.label == "dog-12"
    assert got["q.jpg"].regions[0].radius == round(2 * R640, 2)
    only = regions_from_coco(path, categories=["dog"])
    assert [e.image for e in only] == ["p.jpg"] and [r.label for r in only[0].regions] == ["dog-12"]
    assert [len(e.regions) for e in regions_from_coco(path, max_regions=1)] == [1, 1]
    with pytest.raises(fpsnr.RegionsError, match="no category named cat; the file has dog, person"):
        regions_from_coco(path, categories=["cat"])


def _naive_depth(inside: np.ndarray) -> np.ndarray:
    """Euclidean distance from each inside pixel to the nearest outside one (the frame's ring counts)."""
    padded = np.pad(inside, 1)
    outside = np.argwhere(~padded)
    depth = np.zeros(inside.shape)
    for r, c in np.argwhere(inside):
        depth[r, c] = np.sqrt(((outside - (r + 1, c + 1)) ** 2).sum(axis=1)).min()
    return depth


@pytest.mark.parametrize("shape", ["L", "ring", "edge"])
def test_a_mask_s_disc_sits_at_its_deepest_interior_point(shape):
    mask = np.zeros((40, 50), np.uint8)
    if shape == "L":
        mask[5:35, 5:15] = 1
        mask[25:35, 5:45] = 1
    elif shape == "ring":
        cv2.circle(mask, (25, 20), 15, 1, thickness=6)
    else:
        mask[:, 40:] = 1  # cut by the frame: the frame is an edge too
    (region,) = regions_from_mask(mask, image_name="m.png").regions
    x, y = (int(v) for v in region.center)
    depth = _naive_depth(mask.astype(bool))
    assert mask[y, x] == 1 and depth[y, x] == pytest.approx(depth.max(), abs=1e-4)


def test_label_colour_and_connected_masks(tmp_path):
    labels = np.zeros((40, 60), np.uint16)
    labels[5:15, 5:15] = 3
    labels[20:38, 30:58] = 700
    got = regions_from_mask(labels).regions
    assert [g.label for g in got] == ["segment-700", "segment-3"]  # the largest first
    colour = np.zeros((40, 60, 3), np.uint8)
    colour[5:15, 5:15] = (255, 0, 0)
    colour[20:38, 30:58] = (0, 0, 255)
    assert [g.center for g in regions_from_mask(colour).regions] == [g.center for g in got]
    binary = (labels > 0).astype(np.uint8)
    assert len(regions_from_mask(binary).regions) == 1
    assert [g.center for g in regions_from_mask(binary, connected=True).regions] == [g.center for g in got]
    with pytest.raises(fpsnr.RegionsError, match=r"m\.png: the mask has no segment"):
        regions_from_mask(np.zeros((4, 4)), image_name="m.png")


def test_cli_from_commands_write_collections_that_score(tmp_path, rng):
    runner = __import__("click.testing", fromlist=["CliRunner"]).CliRunner()
    (tmp_path / "fix.csv").write_text(
        "image,x,y\n" + "".join(f"a.png,{100 + k},{100 - k}\n" for k in range(5))
    )
    photo = rng.integers(0, 256, (480, 640, 3)).astype(np.uint8)
    write_image(tmp_path / "a.png", photo)
    out = tmp_path / "r.json"
    no_size = runner.invoke(cli, ["regions", "from-fixations", str(tmp_path / "fix.csv"), "-o", str(out)])
    assert no_size.exit_code == 1 and "no size for a.png" in one_line_error(no_size)
    args = ["regions", "from-fixations", str(tmp_path / "fix.csv"), "--images", str(tmp_path), "-o", str(out)]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["images"][0]["regions"][0] == {"label": "fixation-1", "center": [102, 98], "strength": 1}
    again = runner.invoke(cli, args)
    assert again.exit_code == 1 and "exists; use --overwrite" in one_line_error(again)
    scored = fpsnr.score(photo, photo // 2 * 2, fpsnr.load_regions(out, image="a.png"))
    assert len(scored.regions) == 1
    coco = runner.invoke(cli, ["regions", "from-coco", str(_coco(tmp_path)), "-o", str(tmp_path / "c.json")])
    assert coco.exit_code == 0 and "2 image(s), 3 region(s)" in coco.stderr
    write_image(tmp_path / "m.png", (np.arange(480)[:, None] > 200).repeat(640, 1).astype(np.uint8) * 255)
    mask = runner.invoke(
        cli, ["regions", "from-mask", str(tmp_path / "m.png"), "-o", str(tmp_path / "m.json")]
    )
    assert mask.exit_code == 0, mask.output
    assert (
        runner.invoke(cli, ["regions", "check", str(tmp_path / "m.json"), str(tmp_path / "c.json")]).exit_code
        == 0
    )
    bad = runner.invoke(
        cli, ["regions", "from-coco", str(tmp_path / "fix.csv"), "-o", str(tmp_path / "x.json")]
    )
    assert bad.exit_code == 1 and "fix.csv: invalid JSON" in one_line_error(bad)
