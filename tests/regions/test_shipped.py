"""fpsnr.regions.shipped: the Kodak regions shipped in the package."""

from __future__ import annotations

from pathlib import Path

import pytest

import fpsnr
from fpsnr import RegionsError


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
    # a folder called "kodak" here cannot capture the name (newcomer 2026-12 finding 2):
    # it is reached as a path, ./kodak, kodak/ or a pathlib.Path
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kodak").mkdir()
    own = '{"width": 8, "height": 8, "regions": [{"center": [4, 4]}]}'
    (tmp_path / "kodak" / "kodim23.json").write_text(own)
    assert fpsnr.load_regions("kodak", image="kodim23.png").width == 768
    assert fpsnr.load_region_index("kodak") == index
    for local in ("./kodak", "kodak/", Path("kodak")):
        assert fpsnr.load_regions(local, image="kodim23.png").width == 8


def test_a_local_folder_named_like_the_shipped_set_says_where_it_is_and_how_to_reach_the_set(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kodak").mkdir()
    with pytest.raises(RegionsError) as err:
        fpsnr.load_region_index("./kodak")
    assert str(err.value) == (
        f"kodak: folder holds no .json regions files (the folder {tmp_path / 'kodak'}; "
        "the shipped kodak regions are the bare name 'kodak')"
    )


def test_the_readme_batch_example_works_with_the_images_in_a_folder_named_kodak(tmp_path, monkeypatch):
    """``fpsnr batch kodak/ jpeg-q30/ --regions kodak``, as the README and --help write it,
    with the Kodak pictures in ./kodak: the shipped regions score them, and a note says
    how the local folder would be reached."""
    import numpy as np
    from click.testing import CliRunner

    from fpsnr.cli import cli
    from fpsnr.images.io import write_image

    monkeypatch.chdir(tmp_path)
    (tmp_path / "kodak").mkdir()
    (tmp_path / "jpeg-q30").mkdir()
    img = np.random.default_rng(0).integers(0, 256, (512, 768, 3), dtype=np.uint8)
    write_image(tmp_path / "kodak" / "kodim23.png", img)
    write_image(tmp_path / "jpeg-q30" / "kodim23.jpg", img, quality=30)
    done = CliRunner().invoke(cli, ["batch", "kodak/", "jpeg-q30/", "--regions", "kodak", "--out", "s.csv"])
    assert done.exit_code == 0, done.output
    assert "note: 'kodak' is fpsnr's shipped kodak regions; for the kodak here, write ./kodak" in done.output
    import csv

    from fpsnr.regions.shipped import kodak_regions

    with (tmp_path / "s.csv").open() as handle:
        (row,) = csv.DictReader(handle)
    want = fpsnr.score(
        fpsnr.read_image("kodak/kodim23.png"), fpsnr.read_image("jpeg-q30/kodim23.jpg"),
        fpsnr.load_regions(kodak_regions(), image="kodim23"),
    )  # fmt: skip
    assert row["error"] == "" and float(row["m_fpsnr"]) == want.m_fpsnr
