"""fpsnr.regions.overlay: the error map, labels that do not overlap, pictures written."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import fpsnr
import fpsnr.images.io
from fpsnr.cli import cli
from fpsnr.images.io import write_image
from fpsnr.regions.model import Disc
from fpsnr.regions.overlay import _label_boxes, error_map_db, regions_of
from tests.conftest import REGIONS_1


def test_a_region_at_the_coordinate_limit_is_drawn(pair, tmp_path):
    """F27: cv2.circle takes every centre the validation lets through.

    The disc reaches 5 px into the image from 2²⁴ px outside it (one that holds no
    pixel is refused, as score refuses it).
    """
    ref, _, _ = pair
    path = tmp_path / "edge.json"
    path.write_text(REGIONS_1 % (64, 48, -(2**24) + 5, 24, 2**24))
    res = CliRunner().invoke(cli, ["regions", "show", str(ref), str(path), "-o", str(tmp_path / "o.png")])
    assert res.exit_code == 0, res.output




def test_the_error_map_is_the_per_pixel_psnr(rng):
    ref = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    test = ref.copy()
    test[1, 2] = (ref[1, 2].astype(int) + np.array([3, 0, 4])) % 256
    got = error_map_db(ref, test, 255.0)
    for y in range(6):
        for x in range(7):
            e2 = sum((int(ref[y, x, c]) - int(test[y, x, c])) ** 2 for c in range(3)) / 3
            want = math.inf if e2 == 0 else 10 * math.log10(255 * 255 / e2)
            assert got[y, x] == pytest.approx(want, abs=1e-12) or (math.isinf(want) and math.isinf(got[y, x]))
    luma = error_map_db(ref, test, 255.0, channel="y")
    dy = 0.299 * (int(test[1, 2, 0]) - int(ref[1, 2, 0])) + 0.114 * (int(test[1, 2, 2]) - int(ref[1, 2, 2]))
    assert luma[1, 2] == pytest.approx(10 * math.log10(255**2 / dy**2), abs=1e-9)




def test_labels_of_overlapping_and_border_circles_do_not_overlap():
    discs = [Disc(100, 20, 40, "a"), Disc(130, 30, 40, "b"), Disc(115, 60, 40, "c"), Disc(5, 5, 30, "d")]
    texts = [f"{d.label}-region  31.25 dB" for d in discs]
    boxes = _label_boxes(discs, texts, 320, 200, 0.5, 1)
    for i, (x, y, w, h, base) in enumerate(boxes):
        assert 0 <= x and x + w <= 320 and y - h >= 0 and y + base <= 200  # inside the image
        for px, py, pw, ph, pb in boxes[i + 1 :]:
            assert min(x + w, px + pw) <= max(x, px) or min(y + base, py + pb) <= max(y - h, py - ph)




@pytest.mark.parametrize("shape", [(120, 200), (200, 120)])  # landscape: under; portrait: beside
def test_score_overlay_and_regions_show_test_write_the_picture(tmp_path, rng, shape):
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    ref = np.stack([xx % 256, yy % 256, (xx + yy) % 256], 2).astype(np.uint8)
    test = np.clip(ref.astype(int) + rng.integers(-6, 7, ref.shape), 0, 255).astype(np.uint8)
    write_image(tmp_path / "ref.png", ref)
    write_image(tmp_path / "test.png", test)
    (tmp_path / "r.json").write_text(
        f'{{"width": {w}, "height": {h}, "regions": [{{"label": "one", "center": [{w / 3}, {h / 3}], '
        f'"radius": 30}}, {{"label": "two", "center": [{w / 2}, {h / 2}], "radius": 30}}]}}'
    )
    out = tmp_path / "explained.png"
    args = ["score", str(tmp_path / "ref.png"), str(tmp_path / "test.png"),
            "--regions", str(tmp_path / "r.json")]  # fmt: skip
    res = CliRunner().invoke(cli, [*args, "--overlay", str(out)])
    assert res.exit_code == 0, res.output
    picture = cv2.imread(str(out))
    assert picture is not None
    if h > w:
        assert picture.shape[1] > 2 * w  # the error map beside the image
    else:
        assert picture.shape[0] > 2 * h  # under it
    shown = tmp_path / "shown.png"
    res = CliRunner().invoke(cli, ["regions", "show", str(tmp_path / "ref.png"), str(tmp_path / "r.json"),
                                   "--test", str(tmp_path / "test.png"), "-o", str(shown)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert cv2.imread(str(shown)).shape == picture.shape
    score = fpsnr.score(ref, test, fpsnr.load_regions(tmp_path / "r.json"))
    assert [d.label for d in regions_of(score)] == ["one", "two"]




def test_an_overlay_format_matplotlib_cannot_write_is_refused(tmp_path, rng):
    img = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    regions = tmp_path / "r.json"
    regions.write_text('{"width": 20, "height": 20, "regions": [{"center": [10, 10], "radius": 4}]}')
    res = CliRunner().invoke(cli, ["score", str(tmp_path / "a.png"), str(tmp_path / "a.png"), "--regions",
                                   str(regions), "--overlay", str(tmp_path / "o.xyz")])  # fmt: skip
    assert res.exit_code == 1 and "cannot write a figure as 'xyz'" in res.stderr


def test_a_large_pair_is_drawn_at_a_bounded_size_and_a_small_one_at_its_own(tmp_path, rng):
    """Newcomer 2026-12 finding 11: a 6144×4096 overlay took 34.5 s, 3.8 GB and had
    unreadable text. Images beyond DRAW_SIDE are reduced; the scores stay full-size ones."""
    from fpsnr.regions.overlay import DRAW_SIDE, draw_score

    ref = rng.integers(0, 256, (2000, 3200, 3), dtype=np.uint8)
    test = ref.copy()
    test[900:1100, 2300:2500] = 0
    discs = [Disc(2400.0, 1000.0, 150.0, "here")]
    score = fpsnr.score(ref, test, [fpsnr.Region((2400.0, 1000.0), 150.0)])
    out = tmp_path / "big.png"
    draw_score(ref, test, discs, score, out)
    picture = cv2.imread(str(out))
    assert picture.shape[1] <= DRAW_SIDE + 200 and picture.shape[0] <= 2 * DRAW_SIDE
    small = tmp_path / "small.png"
    a, b = ref[:400, :600], test[:400, :600]
    little = fpsnr.score(a, b, [fpsnr.Region((300.0, 200.0), 50.0)])
    draw_score(a, b, [Disc(300.0, 200.0, 50.0, "c")], little, small)
    assert cv2.imread(str(small)).shape[1] >= 600  # small images keep their own size


def test_the_reduced_error_map_averages_squared_errors_before_taking_db():
    from fpsnr.regions.overlay import _reduced

    ref = np.zeros((4, 4), np.uint8)
    test = ref.copy()
    test[0, 0] = 4  # one pixel of a 2×2 block: mean squared error 16 / 4 = 4
    _, errors = _reduced(ref, test, 255.0, "rgb", 0.5)
    assert errors.shape == (2, 2)
    assert errors[0, 0] == pytest.approx(10 * math.log10(255.0**2 / 4.0))
    assert math.isinf(errors[1, 1])


def test_labels_stay_off_the_other_circles_when_there_is_room():
    """Newcomer 2026-12 finding 18: on portrait kodim04 the 'necklace' label sat on the
    mouth circle and 'mouth' on the eyes circle. Three stacked discs as there."""
    discs = [Disc(300.0, 300.0, 70.0, "eyes"), Disc(255.0, 420.0, 55.0, "mouth"),
             Disc(290.0, 530.0, 55.0, "necklace")]  # fmt: skip
    texts = ["eyes  33.66 dB", "mouth  33.28 dB", "necklace  29.51 dB"]
    boxes = _label_boxes(discs, texts, 512, 768, 0.64, 2)
    for n, (x, y, w, h, base) in enumerate(boxes):
        for m, d in enumerate(discs):
            if m != n:  # no label box meets another disc's bounding square
                assert x + w <= d.x - d.radius or x >= d.x + d.radius or y + base <= d.y - d.radius \
                    or y - h >= d.y + d.radius, (texts[n], discs[m].label)
