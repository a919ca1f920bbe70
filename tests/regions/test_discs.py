"""fpsnr.regions.discs: disc pixels, exactly as SPEC §1 defines them."""

from __future__ import annotations

import time

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from fpsnr.cli import cli
from fpsnr.regions.discs import disc_has_pixel, disc_mask
from fpsnr.regions.model import Disc


def test_checking_a_huge_recorded_frame_costs_nothing(tmp_path):
    """F26: 141 GiB were allocated to learn whether a disc holds a pixel."""
    path = tmp_path / "big.json"
    path.write_text(
        '{"width":1048576,"height":1048576,"regions":[{"center":[1,1]},{"center":[1,1],"radius":3}]}'
    )
    start = time.perf_counter()
    res = CliRunner().invoke(cli, ["regions", "check", str(path)])
    assert res.exit_code == 0 and "2 region(s)" in res.stdout
    assert time.perf_counter() - start < 5




@settings(max_examples=300, deadline=None)
@given(
    x=st.floats(-60, 60), y=st.floats(-60, 60), r=st.floats(0.01, 40),
    h=st.integers(1, 24), w=st.integers(1, 24),
)  # fmt: skip
def test_disc_has_pixel_agrees_with_the_mask(x, y, r, h, w):
    expected = bool(disc_mask((h, w), (x, y), r).any())
    assert disc_has_pixel(Disc(x, y, r, ""), h, w) == expected


@settings(max_examples=150, deadline=None)
@given(
    x=st.floats(-5, 45),
    y=st.floats(-5, 35),
    r=st.floats(0.3, 30),
    channels=st.sampled_from([2, 3, 4]),
    keep=st.booleans(),
)
def test_a_window_spread_over_channels_is_the_mask_repeated_per_channel(x, y, r, channels, keep):
    """disc_window(channels=c) is the disc on the H × W·c view of an interleaved image."""
    import numpy as np

    from fpsnr.regions.discs import disc_window

    disc = Disc(x=x, y=y, radius=r, label="")
    rows, cols, mask, pixels = disc_window(disc, 30, 40, keep=keep)
    s_rows, s_cols, spread, s_pixels = disc_window(disc, 30, 40, keep=keep, channels=channels)
    assert s_rows == rows and s_pixels == pixels
    assert (s_cols.start, s_cols.stop) == (cols.start * channels, cols.stop * channels)
    assert spread.dtype == np.uint8 and spread.shape == (mask.shape[0], mask.shape[1] * channels)
    assert np.array_equal(spread, np.repeat(mask, channels, axis=1))
    # on a real interleaved image, the spread window selects exactly the disc's samples
    image = np.arange(30 * 40 * channels).reshape(30, 40, channels)
    flat = image.reshape(30, -1)[s_rows, s_cols][spread.view(bool)]
    assert np.array_equal(np.sort(flat), np.sort(image[rows, cols][mask.view(bool)].ravel()))


def test_a_colour_disc_too_large_to_keep_spread_keeps_its_one_channel_mask():
    """Beyond the cache's largest item a spread mask is not stored: the one-channel mask is
    (as before spreading), and each call spreads it instead of building it again."""
    import numpy as np

    from fpsnr.regions import discs

    disc = Disc(x=1000.25, y=999.5, radius=900.0, label="")
    assert not discs._shapes.keeps(1803 * 1803 * 3) and discs._shapes.keeps(1803 * 1803)
    discs.clear_caches()
    rows, cols, mask, pixels = discs.disc_window(disc, 2000, 2000)
    s_rows, s_cols, spread, s_pixels = discs.disc_window(disc, 2000, 2000, channels=3)
    assert (s_rows, s_pixels) == (rows, pixels)
    assert (s_cols.start, s_cols.stop) == (cols.start * 3, cols.stop * 3)
    assert np.array_equal(spread, np.repeat(mask, 3, axis=1))
    assert [key[3] for key in discs._shapes._items] == [1]  # the one-channel mask, once
    discs.clear_caches()
