"""The metric engine against independent computations (tests/reference.py, skimage)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage.metrics import peak_signal_noise_ratio

import fpsnr
from fpsnr import EmptyRegionError, ImageError, ParameterError, Region
from tests.reference import close_db, loop_score, naive_score

TOL = 1e-9  # dB


def _jpeg_like(rng: np.random.Generator, shape: tuple[int, ...], dtype: type, peak: float) -> tuple:
    ref = (
        rng.integers(0, int(peak) + 1, size=shape).astype(dtype)
        if dtype != np.float64
        else rng.random(shape) * peak
    )
    noise = rng.normal(0, peak / 40, size=shape)
    test = np.clip(ref + noise, 0, peak)
    test = test.round().astype(dtype) if dtype != np.float64 else test
    return ref, test


def _assert_matches(result: fpsnr.Score, expected: dict) -> None:
    assert close_db(result.psnr, expected["psnr"], TOL)
    assert close_db(result.mean_fpsnr, expected["mean_fpsnr"], TOL)
    assert close_db(result.periphery_psnr, expected["periphery_psnr"], TOL)
    assert close_db(result.m_fpsnr, expected["m_fpsnr"], TOL)
    for got, want in zip(result.regions, expected["regions"], strict=True):
        assert got.pixels == want["pixels"]
        assert close_db(got.fpsnr, want["fpsnr"], TOL)
        assert got.mse == pytest.approx(want["mse"], rel=1e-12)


CASES = [
    # (description, discs as (x, y, r))
    ("fractional centres and radii", [(40.3, 30.7, 12.25), (100.5, 60.5, 20.0)]),
    ("overlapping discs", [(60.0, 40.0, 25.0), (75.5, 45.25, 18.5), (70, 40, 5)]),
    ("clipped at every border", [(0.0, 0.0, 30.0), (159.9, 99.2, 22.7), (-5.0, 50.0, 9.0)]),
    ("tiny radius on a pixel centre", [(10.0, 10.0, 0.5), (20.0, 20.0, 1.0)]),
    ("huge disc clipped to the frame", [(80.0, 50.0, 1e6), (3.0, 3.0, 2.0)]),
]


@pytest.mark.parametrize("dtype,peak", [(np.uint8, 255), (np.uint16, 65535), (np.float64, 1.0)])
@pytest.mark.parametrize("shape", [(100, 160, 3), (100, 160)])
@pytest.mark.parametrize("name,discs", CASES, ids=[c[0] for c in CASES])
def test_matches_naive_full_frame(rng, dtype, peak, shape, name, discs):
    ref, test = _jpeg_like(rng, shape, dtype, peak)
    regions = [Region((x, y), r) for x, y, r in discs]
    data_range = 1.0 if dtype == np.float64 else None
    big = name == "huge disc clipped to the frame"
    fp = 0.0 if big else 0.3
    result = fpsnr.score(ref, test, regions, fp=fp, data_range=data_range)
    _assert_matches(result, naive_score(ref, test, discs, peak=peak, fp=fp))


@pytest.mark.parametrize("dtype,peak", [(np.uint8, 255), (np.float64, 255.0)])
def test_luma_matches_naive(rng, dtype, peak):
    ref, test = _jpeg_like(rng, (64, 96, 3), dtype, peak)
    discs = [(30.5, 20.5, 11.0), (60.0, 40.0, 15.5)]
    regions = [Region((x, y), r) for x, y, r in discs]
    result = fpsnr.score(ref, test, regions, channel="y", data_range=255.0 if dtype == np.float64 else None)
    _assert_matches(result, naive_score(ref, test, discs, peak=peak, channel="y"))
    assert result.channel == "y" and result.channels == 3


def test_pixel_loop_on_tiny_image(rng):
    """Hand-rolled loop with Python ints: no numpy in the reference at all."""
    ref, test = _jpeg_like(rng, (13, 17, 3), np.uint8, 255)
    discs = [(4.5, 6.0, 3.2), (8.0, 6.0, 4.0), (16.0, 0.0, 2.5)]
    result = fpsnr.score(ref, test, [Region((x, y), r) for x, y, r in discs], fp=0.4)
    want = loop_score(ref, test, discs, peak=255, fp=0.4)
    assert [r.pixels for r in result.regions] == want["pixels"]
    for got, fp_want in zip(result.regions, want["fpsnr"], strict=True):
        assert close_db(got.fpsnr, fp_want)
    for key in ("psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr"):
        assert close_db(getattr(result, key), want[key])


def test_hand_worked_numbers():
    """A 4×4 gray image, one disc of radius 1 at (1, 1): 5 pixels (the plus shape)."""
    ref = np.zeros((4, 4), np.uint8)
    test = ref.copy()
    test[1, 1] = 10  # inside: error 100
    test[3, 3] = 20  # periphery: error 400
    s = fpsnr.score(ref, test, [Region((1, 1), 1.0, "plus")], fp=0.5)
    (region,) = s.regions
    assert region.pixels == 5
    assert region.mse == 100 / 5
    assert region.fpsnr == pytest.approx(10 * math.log10(255**2 / 20))
    assert s.periphery_psnr == pytest.approx(10 * math.log10(255**2 / (400 / 11)))
    assert s.psnr == pytest.approx(10 * math.log10(255**2 / (500 / 16)))
    assert s.m_fpsnr == pytest.approx(0.5 * region.fpsnr + 0.5 * s.periphery_psnr)


@pytest.mark.parametrize("dtype,data_range", [(np.uint8, None), (np.uint16, None), (np.float32, 1.0)])
def test_full_frame_psnr_matches_skimage(rng, dtype, data_range):
    peak = data_range or np.iinfo(dtype).max
    ref, test = _jpeg_like(rng, (50, 70, 3), np.float64, float(peak))
    if dtype != np.float32:
        ref, test = ref.round().astype(dtype), test.round().astype(dtype)
    else:
        ref, test = ref.astype(dtype), test.astype(dtype)
    expected = peak_signal_noise_ratio(ref, test, data_range=peak)
    assert fpsnr.psnr(ref, test, data_range=data_range) == pytest.approx(expected, abs=1e-6)
    assert fpsnr.mse(ref, test, data_range=data_range) == pytest.approx(
        np.mean((ref.astype(np.float64) - test) ** 2)
    )


def test_uint16_sums_are_exact_integers():
    """Maximal 16-bit errors overflow float64's exact range in cv2; the engine stays exact."""
    ref = np.zeros((300, 400, 3), np.uint16)
    test = np.full_like(ref, 65535)
    test[0, 0, 0] = 65534
    m = fpsnr.metrics.measure(ref, test, [Region((200, 150), 50.0)])
    exact = 300 * 400 * 3 * 65535**2 - 65535**2 + 65534**2
    assert isinstance(m.total_sse, int) and m.total_sse == exact


@pytest.mark.parametrize("hi", [4, 1024, 65536])
def test_uint16_sums_below_the_cv2_limit_are_the_int64_sums(rng, hi):
    """16-bit data takes cv2.norm's fast path up to 2**49, rounded: the exact integer anyway."""
    shape = (640, 1000) if hi == 65536 else (300, 200, 3)  # full range: a sum near 4e14
    ref = rng.integers(0, hi, shape, dtype=np.uint16)
    test = rng.integers(0, hi, shape, dtype=np.uint16)
    regions = [Region((300, 200), 150), Region((120, 90), 60)]
    m = fpsnr.metrics.measure(ref, test, regions, data_range=hi - 1 if hi > 1 else None)
    d = (ref.astype(np.int64) - test) ** 2
    per_pixel = d.sum(axis=2) if d.ndim == 3 else d
    union = fpsnr.regions.discs.disc_mask(shape, (300, 200), 150) | fpsnr.regions.discs.disc_mask(
        shape, (120, 90), 60
    )
    assert isinstance(m.total_sse, int) and m.total_sse == int(per_pixel.sum())
    assert m.periphery_sse == int(per_pixel[~union].sum())


def test_uint8_sums_are_exact_integers(rng):
    ref, test = _jpeg_like(rng, (120, 90, 3), np.uint8, 255)
    m = fpsnr.metrics.measure(ref, test, [Region((45, 60), 30.0), Region((50, 60), 30.0)])
    err = ((ref.astype(np.int64) - test) ** 2).sum(axis=2)
    assert m.total_sse == int(err.sum())
    mask = fpsnr.regions.discs.disc_mask(ref.shape, (45, 60), 30.0)
    assert m.regions[0].sse == int(err[mask].sum())
    union = mask | fpsnr.regions.discs.disc_mask(ref.shape, (50, 60), 30.0)
    assert m.periphery_sse == int(err[~union].sum())
    assert m.periphery_pixels == int((~union).sum())


# ------------------------------------------------------------------ perfect matches


def test_identical_images_give_inf_without_warnings():
    img = np.full((32, 32, 3), 7, np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = fpsnr.score(img, img, [Region((16, 16), 5.0)], fp=0.5)
    assert s.psnr == s.mean_fpsnr == s.periphery_psnr == s.m_fpsnr == math.inf


def test_inf_propagates_and_zero_weights_do_not_make_nan():
    ref = np.zeros((20, 20), np.uint8)
    test = ref.copy()
    test[0, 0] = 5  # periphery error only; the disc is perfect
    disc = [Region((10, 10), 3.0)]
    assert fpsnr.score(ref, test, disc, fp=0.0).m_fpsnr == math.inf
    assert fpsnr.score(ref, test, disc, fp=0.5).m_fpsnr == math.inf
    only_periphery = fpsnr.score(ref, test, disc, fp=1.0)
    assert only_periphery.m_fpsnr == only_periphery.periphery_psnr < math.inf


def test_max_db_caps_every_psnr_before_averaging():
    ref = np.zeros((20, 20), np.uint8)
    test = ref.copy()
    test[0, 0] = 255
    s = fpsnr.score(ref, test, [Region((10, 10), 3.0), Region((0, 0), 1.0)], fp=0.5, max_db=100)
    assert s.regions[0].fpsnr == 100
    assert s.regions[1].fpsnr < 100
    assert s.mean_fpsnr == pytest.approx((100 + s.regions[1].fpsnr) / 2)


# ------------------------------------------------------------------ properties

images = st.integers(min_value=1, max_value=24).flatmap(
    lambda h: st.integers(min_value=1, max_value=24).map(lambda w: (h, w))
)


@st.composite
def pair_and_discs(draw):
    h, w = draw(images)
    channels = draw(st.sampled_from([None, 3]))
    shape = (h, w) if channels is None else (h, w, channels)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 256, size=shape, dtype=np.uint8)
    test = rng.integers(0, 256, size=shape, dtype=np.uint8)
    n = draw(st.integers(1, 4))
    coords = st.floats(-3, 27, allow_nan=False)
    discs = []
    for _ in range(n):
        x, y = draw(coords), draw(coords)
        r = draw(st.floats(0.5, 20, allow_nan=False))
        # keep only discs that hold a pixel, as the engine requires
        x = min(max(x, 0), w - 1)
        y = min(max(y, 0), h - 1)
        discs.append((x, y, r))
    return ref, test, discs


def _skip_empty(ref, discs):
    """Property tests other than the naive comparison need discs that hold pixels."""
    from hypothesis import assume

    assume(not naive_score(ref, ref, discs, peak=255)["empty"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair_and_discs(), st.floats(0, 1))
def test_property_matches_naive(case, fp):
    ref, test, discs = case
    expected = naive_score(ref, test, discs, peak=255, fp=fp)
    regions = [Region((x, y), r) for x, y, r in discs]
    if expected["empty"]:
        with pytest.raises(EmptyRegionError, match="holds no pixel"):
            fpsnr.score(ref, test, regions, fp=fp)
        return
    if expected["periphery_psnr"] is None and fp > 0:
        with pytest.raises(EmptyRegionError, match="periphery is empty"):
            fpsnr.score(ref, test, regions, fp=fp)
        return
    _assert_matches(fpsnr.score(ref, test, regions, fp=fp), expected)


@settings(max_examples=60, deadline=None)
@given(pair_and_discs())
def test_property_order_of_regions_does_not_matter(case):
    ref, test, discs = case
    _skip_empty(ref, discs)
    regions = [Region((x, y), r) for x, y, r in discs]
    a = fpsnr.score(ref, test, regions, fp=0.0)
    b = fpsnr.score(ref, test, regions[::-1], fp=0.0)
    assert a.mean_fpsnr == pytest.approx(b.mean_fpsnr, abs=TOL) or a.mean_fpsnr == b.mean_fpsnr
    assert a.periphery_psnr == b.periphery_psnr
    assert [r.fpsnr for r in a.regions] == [r.fpsnr for r in b.regions[::-1]]


@settings(max_examples=60, deadline=None)
@given(pair_and_discs())
def test_property_disc_covering_frame_equals_psnr(case):
    ref, test, _ = case
    h, w = ref.shape[:2]
    s = fpsnr.score(ref, test, [Region((w / 2, h / 2), float(h + w))], fp=0.0)
    assert s.periphery_psnr is None
    assert s.regions[0].fpsnr == s.psnr
    assert s.regions[0].pixels == h * w


@settings(max_examples=60, deadline=None)
@given(pair_and_discs())
def test_property_region_and_periphery_recompose_frame_mse(case):
    ref, test, discs = case
    _skip_empty(ref, discs)
    x, y, r = discs[0]
    _skip_empty(ref, [discs[0]])
    m = fpsnr.metrics.measure(ref, test, [Region((x, y), r)])
    (region,) = m.regions
    assert region.pixels + m.periphery_pixels == ref.shape[0] * ref.shape[1]
    assert region.sse + m.periphery_sse == m.total_sse  # exact integers


@settings(max_examples=60, deadline=None)
@given(pair_and_discs(), st.floats(0, 1))
def test_property_uint8_and_float_with_range_255_agree(case, fp):
    ref, test, discs = case
    _skip_empty(ref, discs)
    regions = [Region((x, y), r) for x, y, r in discs]
    if naive_score(ref, test, discs, peak=255)["periphery_psnr"] is None:
        fp = 0.0
    a = fpsnr.score(ref, test, regions, fp=fp)
    b = fpsnr.score(ref.astype(np.float32), test.astype(np.float32), regions, fp=fp, data_range=255)
    for key in ("psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr"):
        assert close_db(getattr(a, key), getattr(b, key), TOL)


def test_same_inputs_bit_identical_on_every_path(rng):
    ref, test = _jpeg_like(rng, (80, 120, 3), np.uint8, 255)
    regions = [Region((30.5, 40.25), 20.0), Region((40, 40), 25.0)]
    first = fpsnr.score(ref, test, regions, fp=0.3)
    assert fpsnr.score(ref.copy(), test.copy(), regions, fp=0.3) == first
    assert fpsnr.metrics.measure(ref, test, regions).score(0.3) == first
    assert fpsnr.metrics.measure(ref, test, regions).sweep([0.1, 0.3])[1] == first
    assert fpsnr.region_psnr(ref, test, regions[0]) == first.regions[0].fpsnr
    assert fpsnr.metrics.region_mse(ref, test, regions[1]) == first.regions[1].mse


def test_disc_mask_membership_is_the_exact_inequality():
    mask = fpsnr.regions.discs.disc_mask((9, 9), (4.0, 4.0), 2.0)
    yy, xx = np.mgrid[0:9, 0:9]
    assert np.array_equal(mask, (xx - 4) ** 2 + (yy - 4) ** 2 <= 4)
    assert mask.sum() == 13  # hand count: 1 + 3 + 5 + 3 + 1


def test_default_radius_is_used_and_reported():
    ref = np.zeros((512, 768, 3), np.uint8)
    s = fpsnr.score(ref, ref, [Region((384, 256))], fp=0.5)
    assert s.regions[0].radius == pytest.approx(67.06, abs=0.01)
    assert s.regions[0].label == "region-1"


# ------------------------------------------------------------------ errors


def test_shape_mismatch_names_both_sizes_as_everywhere_else():
    # W×H like every other message (newcomer finding 27 noted the (H, W, C) odd one out)
    with pytest.raises(ImageError, match=r"test image is 5×4 pixels; the reference is 4×4$"):
        fpsnr.score(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8), [Region((1, 1), 1.0)])
    with pytest.raises(ImageError, match=r"6×4 pixels; the reference is 4×6; one is the other turned by 90°"):
        fpsnr.score(np.zeros((6, 4, 3), np.uint8), np.zeros((4, 6, 3), np.uint8), [Region((1, 1), 1.0)])


def test_dtype_mismatch():
    with pytest.raises(ImageError, match="dtype uint16; the reference has uint8"):
        fpsnr.psnr(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint16))


def test_gray_and_colour_together_is_an_error():
    with pytest.raises(ImageError, match="grayscale and the reference is colour"):
        fpsnr.psnr(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8))


def test_alpha_is_an_error_unless_dropped():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 255
    other = rgba.copy()
    other[..., 3] = 0  # alpha differences must not count once dropped
    with pytest.raises(ImageError, match="alpha channel"):
        fpsnr.psnr(rgba, other)
    assert fpsnr.psnr(rgba, other, alpha="drop") == math.inf


def test_float_needs_data_range_and_values_inside_it():
    a = np.zeros((4, 4), np.float32)
    with pytest.raises(ImageError, match="data_range"):
        fpsnr.psnr(a, a)
    b = a.copy()
    b[0, 0] = 2.5
    with pytest.raises(ImageError, match=r"values in \[0, 2.5\], outside the data range \[0, 1\]"):
        fpsnr.psnr(a, b, data_range=1.0)
    b[0, 0] = np.nan
    with pytest.raises(ImageError, match="NaN"):
        fpsnr.psnr(a, b, data_range=1.0)


def test_unsupported_dtype():
    with pytest.raises(ImageError, match="unsupported image dtype int16"):
        fpsnr.psnr(np.zeros((4, 4), np.int16), np.zeros((4, 4), np.int16))


def test_integer_data_range_override_is_checked():
    a = np.zeros((4, 4), np.uint16)
    b = a.copy()
    b[0, 0] = 1023
    assert fpsnr.psnr(a, b, data_range=1023) == pytest.approx(10 * math.log10(1023**2 / (1023**2 / 16)))
    b[0, 0] = 2000
    with pytest.raises(ImageError, match="above the data range 1023"):
        fpsnr.psnr(a, b, data_range=1023)


@pytest.mark.parametrize("fp", [-0.1, 1.5, float("nan")])
def test_fp_outside_unit_interval(fp):
    img = np.zeros((8, 8), np.uint8)
    with pytest.raises(ParameterError, match=r"Fp must be in \[0, 1\]"):
        fpsnr.score(img, img, [Region((4, 4), 2.0)], fp=fp)


def test_empty_region_names_region_centre_radius_and_size():
    img = np.zeros((10, 20), np.uint8)
    with pytest.raises(EmptyRegionError, match=r"region 'far' \(centre \(100, 5\), radius 3\).*20×10 image"):
        fpsnr.score(img, img, [Region((100, 5), 3.0, "far")])


def test_empty_periphery_is_an_error_only_when_fp_positive():
    img = np.zeros((10, 10), np.uint8)
    cover = [Region((5, 5), 100.0)]
    with pytest.raises(EmptyRegionError, match="periphery is empty"):
        fpsnr.score(img, img, cover, fp=0.5)
    assert fpsnr.score(img, img, cover, fp=0.0).periphery_psnr is None


def test_region_rejects_non_finite_and_negative_values():
    with pytest.raises(fpsnr.RegionsError, match="finite"):
        Region((float("nan"), 1.0))
    with pytest.raises(fpsnr.RegionsError, match="positive finite"):
        Region((1.0, 1.0), -2.0)
    with pytest.raises(fpsnr.RegionsError, match="positive finite"):
        Region((1.0, 1.0), float("inf"))


def test_window_cache_gives_the_masks_it_would_build_and_stays_bounded():
    from fpsnr.regions.discs import BoundedCache, _clipped

    cache = BoundedCache(8 * 40 * 40, lambda window: window[2].nbytes)
    for i in range(30):
        key = (10.0 + i, 20.5, 5.0 + i / 3, 50, 60, 1)
        got = cache.get(key, _clipped, *key)
        want = _clipped(*key)
        assert got[:2] == want[:2] and got[3] == want[3] and np.array_equal(got[2], want[2])
        assert cache.get(key, pytest.fail, "rebuilt") is got  # a hit: the stored mask, not made again
        assert cache._bytes <= cache._max
    cache.clear()
    assert cache._bytes == 0


def test_cached_and_fresh_scores_are_bit_identical(rng):
    from fpsnr.regions.discs import _windows

    ref, test = _jpeg_like(rng, (60, 80, 3), np.uint8, 255)
    regions = [Region((20.5, 30.25), 12.0), Region((25, 30), 10.0)]
    _windows.clear()
    fresh = fpsnr.score(ref, test, regions)
    assert fpsnr.score(ref, test, regions) == fresh


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_interleaved_planes_give_the_sums_of_their_channels_in_every_memory_layout(rng, dtype):
    """measure_plane sums a contiguous (H, W, C) plane as an H × W·C one under spread masks;
    a strided plane (a channel-reversed view) takes the 3-D path: both equal the naive sums."""
    from fpsnr.regions.model import Disc
    from fpsnr.sums import measure_plane

    ref, test = _jpeg_like(rng, (50, 70, 3), dtype, 1.0 if dtype == np.float64 else 255)
    discs = [Disc(20.5, 25.0, 11.0, "a"), Disc(28.0, 22.25, 9.5, "b"), Disc(66.0, 3.0, 8.0, "edge")]
    yy, xx = np.mgrid[0:50, 0:70].astype(np.float64)
    err = ((ref.astype(np.float64) - test) ** 2).sum(axis=2)
    union = np.zeros((50, 70), bool)
    for d in discs:
        union |= (xx - d.x) * (xx - d.x) + (yy - d.y) * (yy - d.y) <= d.radius * d.radius
    for a, b in [(ref, test), (ref[:, :, ::-1], test[:, :, ::-1])]:
        got = measure_plane(a, b, discs)
        for d, item in zip(discs, got.regions, strict=True):
            inside = (xx - d.x) * (xx - d.x) + (yy - d.y) * (yy - d.y) <= d.radius * d.radius
            assert item.pixels == inside.sum()
            assert item.sse == pytest.approx(err[inside].sum(), rel=1e-12)
        assert got.periphery_pixels == (~union).sum()
        assert got.periphery_sse == pytest.approx(err[~union].sum(), rel=1e-12, abs=1e-12)
        if dtype != np.float64:
            assert got.total_sse == int(err.sum()) and isinstance(got.regions[0].sse, int)


def test_pixel_exactly_one_radius_away_is_inside():
    """Found by hypothesis: with pow(), 10.677088745811602**2 rounds one ulp below the
    product; membership uses correctly rounded products, so a pixel at distance exactly R
    (here the centre minus R lands on pixel 0) is inside, as SPEC's ≤ says."""
    y = r = 10.677088745811602
    assert (0.0 - y) * (0.0 - y) == r * r
    mask = fpsnr.regions.discs.disc_mask((12, 1), (0.0, y), r)
    assert mask[0, 0] and mask.sum() == 12


def _naive_mask(height: int, width: int, x: float, y: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    return (xx - x) * (xx - x) + (yy - y) * (yy - y) <= r * r


@settings(max_examples=200, deadline=None)
@given(
    x=st.floats(0, 120),
    y=st.floats(0, 90),
    r=st.floats(0.2, 60),
    shift=st.tuples(st.integers(-40, 40), st.integers(-40, 40)),
)
def test_disc_windows_are_the_exact_masks_also_when_shared_between_whole_pixel_shifts(x, y, r, shift):
    """Discs inside the frame share one mask per (fractional centre, radius): the disc
    at (x, y) and the one a whole number of pixels away must both equal the naive
    full-frame test, whichever of them built the shared mask; discs a fraction of a
    pixel away (same radius) must not be given it."""
    from fpsnr.regions.discs import Disc, clear_caches, disc_window

    height, width = 100, 130
    clear_caches()
    sx, sy = shift
    for cx, cy in ((x, y), (x + sx, y + sy), (x + sx + 0.375, y), (x, y + sy + 0.5)):
        if not (0 <= cx < width and 0 <= cy < height):
            continue
        rows, cols, inside, pixels = disc_window(Disc(cx, cy, r, ""), height, width)
        got = np.zeros((height, width), bool)
        got[rows, cols] = inside.view(bool)
        want = _naive_mask(height, width, cx, cy, r)
        assert np.array_equal(got, want), (cx, cy, r)
        assert pixels == want.sum()


def test_whole_pixel_shifts_share_one_mask_and_fractional_ones_do_not():
    from fpsnr.regions.discs import Disc, clear_caches, disc_window

    clear_caches()
    a = disc_window(Disc(40.0, 30.5, 9.0, ""), 100, 100)
    b = disc_window(Disc(57.0, 61.5, 9.0, ""), 100, 100)
    c = disc_window(Disc(57.25, 61.5, 9.0, ""), 100, 100)
    assert a[2] is b[2] and a[2] is not c[2]
    assert a[0] == slice(21, 41) and b[0] == slice(52, 72)  # ⌊30.5 − 9⌋ = 21, then 20 rows


def test_absurd_values_are_refused_or_scored_right_never_a_false_number(rng):
    """Reliability 2026-12 G24/G25: Region('12') was the centre (1, 2); fp=True was Fp 1;
    psnr_from_mse(1, -255) was 48.13 and a domain error for MSE < 0; default_radius of a
    negative size was negative; data_range=1e160 overflowed MAX² into PSNR = +inf."""
    from fpsnr.metrics import psnr_from_mse
    from fpsnr.regions.model import default_radius

    for centre in ("12", b"\x01\x02"):
        with pytest.raises(fpsnr.RegionsError, match="two numbers"):
            Region(centre)  # type: ignore[arg-type]
    ref, test = _jpeg_like(rng, (32, 48, 3), np.uint8, 255)
    with pytest.raises(ParameterError, match="Fp must be a number"):
        fpsnr.score(ref, test, [Region((20, 16))], fp=True)
    for mse, peak in ((-1.0, 255.0), (1.0, 0.0), (1.0, -255.0), (float("nan"), 255.0)):
        with pytest.raises(ParameterError, match="MSE ≥ 0 and a peak > 0"):
            psnr_from_mse(mse, peak)
    with pytest.raises(fpsnr.RegionsError, match="positive"):
        default_radius(-5, 10)
    huge = fpsnr.psnr(ref, test, data_range=1e160)
    mse = float(np.mean((ref.astype(float) - test.astype(float)) ** 2))
    assert math.isfinite(huge)
    assert huge == pytest.approx(20 * math.log10(1e160) - 10 * math.log10(mse), rel=1e-12)
    assert psnr_from_mse(4.0, 255.0) == 10 * math.log10(255.0**2 / 4.0)  # the formula as written otherwise
