"""fpsnr.regions.proposals: the signature map, the learned centre prior, discs by greedy coverage."""

from __future__ import annotations

import importlib.resources
import json

import cv2
import numpy as np
import pytest
import scipy.fft
import scipy.ndimage
import skimage.color
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import fpsnr
from fpsnr.cli import cli
from fpsnr.images.io import write_image
from fpsnr.regions.proposals import (
    fit_fixation_prior,
    fixation_density,
    fixation_prior,
    regions_from_density,
    signature_saliency,
    suggest_regions,
    work_size,
)
from tests.conftest import SHARED

FIXATIONS = SHARED / "data" / "fixations"


def _naive_signature(rgb: np.ndarray) -> np.ndarray:
    """Hou, Harel & Koch 2012 written out with scipy and scikit-image's Lab: per channel
    IDCT(sign(DCT)), squared, summed, smoothed."""
    h, w = rgb.shape[:2]
    sw, sh = work_size(w, h)
    small = cv2.resize(rgb.astype(np.float32) / 255, (sw, sh), interpolation=cv2.INTER_AREA)
    lab = skimage.color.rgb2lab(small.astype(np.float64))
    total = np.zeros((sh, sw))
    for c in range(3):
        plane = np.pad(lab[:, :, c], ((0, sh % 2), (0, sw % 2)), mode="edge")
        coef = scipy.fft.dctn(plane, norm="ortho")
        coef[np.abs(coef) <= 1e-6 * np.abs(coef).max()] = 0
        back = scipy.fft.idctn(np.sign(coef), norm="ortho")[:sh, :sw]
        total += back**2
    total = scipy.ndimage.gaussian_filter(total, 0.03 * sw, mode="reflect", truncate=4.0)
    return total / total.max()


@pytest.mark.parametrize("size", [(200, 120), (131, 77), (640, 427)])
def test_the_signature_map_equals_the_paper_s_formula_written_with_scipy(size, rng):
    w, h = size
    img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3)).astype(np.uint8), (0, 0), 3)
    img[h // 3 : h // 3 + 9, w // 4 : w // 4 + 9] = (250, 40, 40)
    got = signature_saliency(img)
    assert got.shape == work_size(w, h)[::-1]
    np.testing.assert_allclose(got, _naive_signature(img), atol=2e-3)
    # sign and square: the scale of a channel does not matter
    np.testing.assert_allclose(signature_saliency(img.astype(np.uint16) * 257), got, atol=1e-5)


def _held_naive(density: np.ndarray, col: int, row: int, r: float) -> float:
    return sum(
        density[y, x]
        for y in range(density.shape[0])
        for x in range(density.shape[1])
        if (x - col) ** 2 + (y - row) ** 2 <= r * r
    )


_NEAR_TIE = np.full((9, 13), 2.0**-23)
_NEAR_TIE[0, 0] = 1.0  # CI found it: discs whose masses differ by 1e-7 were taken as tied


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (9, 13), elements=st.floats(0, 1)), st.integers(1, 4))
@example(_NEAR_TIE, 4)
def test_each_disc_holds_the_most_mass_left_and_strengths_fall(density, k):
    # a 13 × 9 map of a 130 × 90 image: r_work = R / 10
    width, height = 130, 90
    radius = fpsnr.regions.default_radius(width, height)
    found = regions_from_density(density, width, height, max_regions=k, min_strength=0.0).regions
    mass, total, r = density.copy(), density.sum(), radius / 10
    for region in found:
        col, row = round((region.center[0] + 0.5) / 10 - 0.5), round((region.center[1] + 0.5) / 10 - 0.5)
        best = max(_held_naive(mass, c, q, r) for q in range(9) for c in range(13))
        assert _held_naive(mass, col, row, r) == pytest.approx(best, abs=1e-9)
        if total > 0:
            assert region.strength == pytest.approx(best / total, abs=6e-5)  # written with 4 decimals
        ys, xs = np.mgrid[0:9, 0:13]
        mass[(xs - col) ** 2 + (ys - row) ** 2 <= r * r] = 0
    shares = [g.strength for g in found]
    assert shares == sorted(shares, reverse=True)


def test_min_strength_stops_the_discs_and_one_is_always_given():
    density = np.zeros((9, 13))
    density[4, 6] = 1.0
    density[1, 1] = 0.01
    found = regions_from_density(density, 130, 90, min_strength=0.05).regions
    assert [g.center for g in found] == [(65.0, 45.0)]  # cell (6, 4) is pixels 60–69, 40–49
    assert found[0].strength == pytest.approx(0.9901, abs=1e-4)
    assert len(regions_from_density(density, 130, 90, min_strength=0.0, max_regions=3).regions) == 3
    assert len(regions_from_density(np.zeros((9, 13)), 130, 90).regions) == 1


def test_the_prior_is_the_mean_fixation_density_each_scene_counted_once():
    # scene A: 1 fixation top-left; scene B: 3 fixations bottom-right: equal weight
    scenes = [(320, 320, [(5, 5)]), (640, 640, [(630, 630)] * 3)]
    table = fit_fixation_prior(scenes, side=4, blur=0.01)
    want = np.zeros((4, 4))
    want[0, 0] = want[3, 3] = 1.0
    np.testing.assert_allclose(table, want, atol=1e-9)
    with pytest.raises(fpsnr.ParameterError, match="no fixations"):
        fit_fixation_prior([(10, 10, np.zeros((0, 2)))])


def test_the_shipped_prior_peaks_near_the_middle_and_a_flat_picture_gets_it_alone():
    prior = fixation_prior(768, 512)
    assert prior.shape == (43, 64) and prior.max() == 1.0
    row, col = np.unravel_index(np.argmax(prior), prior.shape)
    assert abs(col - 31.5) < 8 and abs(row - 21) < 8  # people look at the middle first
    np.testing.assert_array_equal(fixation_density(np.full((512, 768, 3), 9, np.uint8)), prior)
    record = json.loads(
        (importlib.resources.files("fpsnr") / "data/fixation_prior.json").read_text()
    )
    assert record["side"] == 32 and record["scenes"] == 250 and "MIT" in record["source"]


def test_strengths_are_written_read_back_and_checked(tmp_path, rng):
    img = cv2.GaussianBlur(rng.integers(0, 256, (90, 130, 3)).astype(np.uint8), (0, 0), 2)
    regions = suggest_regions(img, image_name="a.png")
    regions.dump(tmp_path / "a.json")
    again = fpsnr.load_regions(tmp_path / "a.json")
    assert [g.strength for g in again.regions] == [g.strength for g in regions.regions]
    (tmp_path / "b.json").write_text(
        '{"width": 9, "height": 9, "regions": [{"center": [1, 1], "strength": 2}]}'
    )
    with pytest.raises(
        fpsnr.RegionsError, match=r"b\.json: \$\.regions\[0\]\.strength: expected a number in \[0, 1\]"
    ):
        fpsnr.load_regions(tmp_path / "b.json")
    with pytest.raises(fpsnr.RegionsError, match="strength must be a number in"):
        fpsnr.Region((1, 1), strength=float("nan"))


def test_cli_suggest_methods_and_the_overlay_shows_strengths(runner, tmp_path, rng):
    img = cv2.GaussianBlur(rng.integers(0, 256, (120, 200, 3)).astype(np.uint8), (0, 0), 2)
    write_image(tmp_path / "a.png", img)
    base = ["regions", "suggest", str(tmp_path / "a.png")]
    res = runner.invoke(cli, [*base, "-o", str(tmp_path / "s.json"), "--overlay", str(tmp_path / "o.png")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "s.json").read_text())
    assert [g["strength"] for g in doc["regions"]] == [g.strength for g in suggest_regions(img).regions]
    old = runner.invoke(cli, [*base, "-o", str(tmp_path / "r.json"), "--method", "spectral-residual",
                              "--min-saliency", "0.5"])  # fmt: skip
    assert old.exit_code == 0, old.output
    want = suggest_regions(img, method="spectral-residual", min_saliency=0.5).regions
    assert [tuple(g["center"]) for g in json.loads((tmp_path / "r.json").read_text())["regions"]] == [
        g.center for g in want
    ]
    mixed = runner.invoke(cli, [*base, "-o", str(tmp_path / "m.json"), "--min-saliency", "0.5"])
    assert mixed.exit_code == 2 and "--min-saliency applies to --method spectral-residual" in mixed.output
    # the overlay's labels carry the strengths: other texts draw other pixels
    discs = fpsnr.load_regions(tmp_path / "s.json").resolve(200, 120)
    plain = fpsnr.regions.overlay.draw_regions(img, discs)
    assert not np.array_equal(fpsnr.read_image(tmp_path / "o.png"), plain)


@pytest.mark.slow
def test_on_eye_tracked_scenes_the_default_holds_more_fixations_than_centre_and_spectral_residual():
    if not (FIXATIONS / "fixations.csv").is_file():
        pytest.skip("../shared/data/fixations is not present (fresh clone)")
    from fpsnr.regions.annotations import read_fixation_csv

    fixations = read_fixation_csv(FIXATIONS / "fixations.csv", drop_first=True)
    points = {name: found[0] for name, found in fixations.items()}
    names = sorted(points)[:40]
    held = {"signature": 0, "spectral-residual": 0, "centre": 0}
    total = 0
    for name in names:
        image = fpsnr.read_image(FIXATIONS / "images" / name)
        h, w = image.shape[:2]
        r = fpsnr.regions.default_radius(w, h)
        p = np.asarray(points[name])
        total += len(p)
        for method in ("signature", "spectral-residual"):
            discs = [g.center for g in suggest_regions(image, method=method).regions[:3]]
            inside = np.zeros(len(p), bool)
            for x, y in discs:
                inside |= (p[:, 0] - x) ** 2 + (p[:, 1] - y) ** 2 <= r * r
            held[method] += int(inside.sum())
        held["centre"] += int((((p[:, 0] - (w - 1) / 2) ** 2 + (p[:, 1] - (h - 1) / 2) ** 2) <= r * r).sum())
    share = {k: v / total for k, v in held.items()}
    assert share["signature"] > 0.45 and share["signature"] > share["spectral-residual"] + 0.1
    assert share["signature"] > share["centre"] + 0.15
