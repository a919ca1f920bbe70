"""The shipped Kodak regions and the automatic proposals (issue: Kodak regions)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fpsnr
from fpsnr.cli import cli
from fpsnr.images.io import write_image
from fpsnr.regions.proposals import suggest_regions
from fpsnr.regions.saliency import spectral_residual_saliency
from fpsnr.regions.shipped import kodak_regions
from tests.conftest import KODAK

REGIONS = kodak_regions()
PORTRAIT = {4, 9, 10, 17, 18, 19}


@pytest.mark.parametrize("n", range(1, 25))
def test_shipped_file_validates_and_centres_lie_inside(n, request):
    path = REGIONS / f"kodim{n:02d}.json"
    regions = fpsnr.load_regions(path)
    assert regions.image == f"kodim{n:02d}.png"
    assert 1 <= len(regions.regions) <= 5
    assert all(r.label for r in regions.regions)
    assert len({r.label for r in regions.regions}) == len(regions.regions)
    size = (512, 768) if n in PORTRAIT else (768, 512)
    assert (regions.width, regions.height) == size
    kodak = KODAK / f"kodim{n:02d}.png"
    if kodak.is_file():  # the real image, when ../shared is there
        h, w = fpsnr.read_image(kodak).shape[:2]
        assert (w, h) == size
    for r in regions.regions:
        x, y = r.center
        assert 0 <= x <= size[0] - 1 and 0 <= y <= size[1] - 1, r


def test_the_folder_is_a_regions_index_with_24_images():
    index = fpsnr.load_region_index(REGIONS)
    assert sorted(index) == [f"kodim{n:02d}" for n in range(1, 25)]


def _blob_image(rng, at=(150, 60)):
    img = np.full((120, 200, 3), 90, np.uint8) + rng.integers(0, 6, (120, 200, 3)).astype(np.uint8)
    x, y = at
    img[y - 6 : y + 6, x - 6 : x + 6] = 250
    return img


def test_suggest_finds_an_isolated_bright_object(rng):
    img = _blob_image(rng)
    regions = suggest_regions(img, max_regions=3)
    first = regions.regions[0]
    r = fpsnr.regions.default_radius(200, 120)
    assert np.hypot(first.center[0] - 150, first.center[1] - 60) < r / 2
    assert first.label == "salient-1" and first.radius is None


def test_suggest_is_deterministic_and_its_output_validates(rng, tmp_path):
    img = _blob_image(rng, at=(50, 40))
    a = suggest_regions(img, image_name="x.png")
    b = suggest_regions(img.copy(), image_name="x.png")
    assert a == b
    a.dump(tmp_path / "x.json")
    assert fpsnr.load_regions(tmp_path / "x.json") == a
    # greedy coverage: each disc adds no more than the one before it, and together at most all
    shares = [reg.strength for reg in a.regions]
    assert all(0 < v <= 1 for v in shares) and sum(shares) <= 1 + 1e-9
    assert shares == sorted(shares, reverse=True)
    assert len({reg.center for reg in a.regions}) == len(a.regions)
    # the spectral-residual method's proposals never overlap: suppression removes twice the radius
    old = suggest_regions(img, method="spectral-residual")
    r = fpsnr.regions.default_radius(200, 120)
    centres = [reg.center for reg in old.regions]
    for i, p in enumerate(centres):
        for q in centres[i + 1 :]:
            assert np.hypot(p[0] - q[0], p[1] - q[1]) > 2 * r


def test_flat_image_gets_the_centre():
    flat = np.full((30, 40), 7, np.uint8)
    assert not spectral_residual_saliency(flat).any()
    (only,) = suggest_regions(flat, method="spectral-residual").regions
    assert only.center == (19.5, 14.5)
    # the fixation map of a flat picture is the centre prior alone: its discs start in the middle
    first = suggest_regions(flat).regions[0]
    assert np.hypot(first.center[0] - 19.5, first.center[1] - 14.5) <= fpsnr.regions.default_radius(40, 30)


def test_suggest_rejects_bad_parameters(rng):
    with pytest.raises(fpsnr.ParameterError, match="max_regions"):
        suggest_regions(_blob_image(rng), max_regions=0)
    with pytest.raises(fpsnr.ParameterError, match="min_saliency"):
        suggest_regions(_blob_image(rng), method="spectral-residual", min_saliency=2)
    with pytest.raises(fpsnr.ParameterError, match="min_strength"):
        suggest_regions(_blob_image(rng), min_strength=1.5)
    with pytest.raises(fpsnr.ParameterError, match="method must be one of signature, spectral-residual"):
        suggest_regions(_blob_image(rng), method="faces")


def test_cli_suggest_writes_regions_and_overlay(runner, tmp_path, rng):
    write_image(tmp_path / "img.png", _blob_image(rng))
    out, overlay = tmp_path / "img.json", tmp_path / "o.png"
    res = runner.invoke(
        cli, ["regions", "suggest", str(tmp_path / "img.png"), "-o", str(out), "--overlay", str(overlay)]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["image"] == "img.png"
    assert fpsnr.read_image(overlay).shape == (120, 200, 3)
    again = runner.invoke(cli, ["regions", "suggest", str(tmp_path / "img.png"), "-o", str(out)])
    assert again.exit_code == 1 and "exists; use --overwrite" in again.stderr
    assert runner.invoke(cli, ["regions", "suggest", str(tmp_path / "img.png"), "-o", str(out), "--overwrite",
                               "--max", "1"]).exit_code == 0  # fmt: skip
    assert len(json.loads(out.read_text())["regions"]) == 1


def test_batch_missing_regions_suggest(tmp_path, rng):
    ref, test = tmp_path / "ref", tmp_path / "test"
    ref.mkdir()
    test.mkdir()
    img = _blob_image(rng)
    write_image(ref / "a.png", img)
    write_image(test / "a.jpg", img, quality=50)
    regions = tmp_path / "regions"
    regions.mkdir()
    (regions / "other.json").write_text('{"width": 8, "height": 8, "regions": [{"center": [1, 1]}]}')
    out = fpsnr.score_folders(
        ref, test, regions, workers=1, options=fpsnr.BatchOptions(missing_regions="suggest")
    )
    row = out.scores.iloc[0]
    assert row["error"] == ""
    want = suggest_regions(img)
    assert row["n_regions"] == len(want.regions)
    assert list(out.regions["region_label"]) == [r.label for r in want.regions]


@pytest.mark.kodak
def test_suggest_on_kodak_parrots_finds_both_heads(kodak_dir):
    img = fpsnr.read_image(kodak_dir / "kodim23.png")
    hand = fpsnr.load_regions(REGIONS / "kodim23.json").regions
    got = suggest_regions(img, method="spectral-residual", max_regions=2).regions
    r = fpsnr.regions.default_radius(768, 512)
    for h in hand:
        assert min(np.hypot(h.center[0] - s.center[0], h.center[1] - s.center[1]) for s in got) <= r
