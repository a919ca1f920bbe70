"""fpsnr.regions.shipped: the Kodak regions shipped in the package."""

from __future__ import annotations

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
    # a real file or folder called "kodak" wins over the shipped set
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kodak").mkdir()
    own = '{"width": 8, "height": 8, "regions": [{"center": [4, 4]}]}'
    (tmp_path / "kodak" / "kodim23.json").write_text(own)
    assert fpsnr.load_regions("kodak", image="kodim23.png").width == 8
