"""The video engine against naive computations: chroma discs, every plane's sums, the rules, pooling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fpsnr
from fpsnr.regions.model import Disc
from fpsnr.sums import measure_plane
from fpsnr.video import VideoFormat, VideoOptions, iter_video, score_video
from fpsnr.video.measure import FrameWindows
from tests.video.conftest import planes_420, write_raw


def naive_chroma_mask(disc: Disc, height: int, width: int, sx: int, sy: int) -> np.ndarray:
    """A chroma sample is in when any luma sample of its footprint is in the disc (loops)."""
    ch, cw = -(-height // sy), -(-width // sx)
    mask = np.zeros((ch, cw), bool)
    for i in range(ch):
        for j in range(cw):
            for yy in range(i * sy, min((i + 1) * sy, height)):
                for xx in range(j * sx, min((j + 1) * sx, width)):
                    if (xx - disc.x) ** 2 + (yy - disc.y) ** 2 <= disc.radius**2:
                        mask[i, j] = True
    return mask


@settings(max_examples=60, deadline=None)
@given(
    x=st.floats(-6, 40),
    y=st.floats(-6, 30),
    r=st.floats(0.3, 14),
    chroma=st.sampled_from(["420", "422", "444"]),
    width=st.integers(9, 33),
    height=st.integers(7, 25),
)
def test_chroma_windows_hold_every_sample_whose_footprint_touches_the_disc(x, y, r, chroma, width, height):
    fmt = VideoFormat(width, height, chroma)
    disc = Disc(x, y, r, "d")
    sx, sy = fmt.subsampling
    cw, ch = fmt.chroma_size
    rows, cols, inside, count = FrameWindows(fmt).chroma(disc, ch, cw)
    full = np.zeros((ch, cw), bool)
    full[rows, cols] = inside.view(bool)
    assert np.array_equal(full, naive_chroma_mask(disc, height, width, sx, sy))
    assert count == full.sum()


def _naive_plane(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> int:
    d = (a.astype(np.int64) - b.astype(np.int64)) ** 2
    return int(d.sum() if mask is None else d[mask].sum())


def test_every_plane_region_and_periphery_equals_naive_sums_and_the_rules_are_hand_worked(tmp_path, rng):
    ref, dist = planes_420(rng, 3, 31, 45, noise=12)  # odd sizes: partial chroma blocks
    a, b = write_raw(tmp_path / "a.yuv", ref), write_raw(tmp_path / "b.yuv", dist)
    regions = [fpsnr.Region((10, 9), radius=6, label="p"), fpsnr.Region((14, 12), radius=5, label="q")]
    for rule in ("6:1:1", "4:1:1-db", "4:1:1-mse"):
        stream = iter_video(a, b, regions, VideoOptions(rule=rule, fps=(0.5,)), size=(45, 31))
        for (sums, score), r, d in zip(stream, ref, dist, strict=True):
            discs = sums.discs
            union = [np.zeros((31, 45), bool), np.zeros((16, 23), bool), np.zeros((16, 23), bool)]
            for k, disc in enumerate(discs):
                masks = [
                    np.add.outer((np.arange(31) - disc.y) ** 2, (np.arange(45) - disc.x) ** 2)
                    <= disc.radius**2,
                    naive_chroma_mask(disc, 31, 45, 2, 2),
                    naive_chroma_mask(disc, 31, 45, 2, 2),
                ]
                for p in range(3):
                    assert sums.planes[p].regions[k].sse == _naive_plane(r[p], d[p], masks[p])
                    assert sums.planes[p].regions[k].pixels == masks[p].sum()
                    union[p] |= masks[p]
                region = score.regions[k]
                f = [
                    10 * math.log10(255**2 / (sums.planes[p].regions[k].sse / masks[p].sum()))
                    for p in range(3)
                ]
                assert region.fpsnr == pytest.approx(f, abs=1e-12)
                expected = {
                    "6:1:1": (6 * f[0] + f[1] + f[2]) / 8,
                    "4:1:1-db": (4 * f[0] + f[1] + f[2]) / 6,
                    "4:1:1-mse": 10
                    * math.log10(
                        255**2
                        * sum(m.sum() for m in masks)
                        / sum(sums.planes[p].regions[k].sse for p in range(3))
                    ),
                }[rule]
                assert region.fpsnr_yuv == pytest.approx(expected, abs=1e-12)
            for p in range(3):
                assert sums.planes[p].total_sse == _naive_plane(r[p], d[p])
                assert sums.planes[p].periphery_sse == _naive_plane(r[p], d[p], ~union[p])
                assert sums.planes[p].periphery_pixels == (~union[p]).sum()


def test_both_poolings_equal_their_definitions_over_the_frames(tmp_path, rng):
    ref, dist = planes_420(rng, 6, 40, 48, noise=10)
    a, b = write_raw(tmp_path / "a.yuv", ref), write_raw(tmp_path / "b.yuv", dist)
    regions = [fpsnr.Region((20, 18), radius=8, label="face")]
    frames: list = []
    summary = score_video(a, b, regions, VideoOptions(fps=(0.25,)), size=(48, 40), on_frame=frames.append)
    # mean of per-frame dB
    assert summary.mean_db["psnr_u"] == pytest.approx(np.mean([f.psnr[1] for f in frames]), abs=1e-12)
    assert summary.mean_db["m_fpsnr_y_fp0.25"] == pytest.approx(
        np.mean([f.y[0].m_fpsnr for f in frames]), abs=1e-12
    )
    assert summary.regions["face"].mean_db["fpsnr_yuv"] == pytest.approx(
        np.mean([f.regions[0].fpsnr_yuv for f in frames]), abs=1e-12
    )
    # PSNR of the total squared error over all frames, from the planes themselves
    sse_y = sum(_naive_plane(r[0], d[0]) for r, d in zip(ref, dist, strict=True))
    assert summary.pooled["psnr_y"] == pytest.approx(10 * math.log10(255**2 * 6 * 40 * 48 / sse_y), abs=1e-12)
    mask = np.add.outer((np.arange(40) - 18.0) ** 2, (np.arange(48) - 20.0) ** 2) <= 64
    inside = sum(_naive_plane(r[0], d[0], mask) for r, d in zip(ref, dist, strict=True))
    outside = sum(_naive_plane(r[0], d[0], ~mask) for r, d in zip(ref, dist, strict=True))
    fovea = 10 * math.log10(255**2 * 6 * mask.sum() / inside)
    periphery = 10 * math.log10(255**2 * 6 * (~mask).sum() / outside)
    assert summary.pooled["mean_fpsnr_y"] == pytest.approx(fovea, abs=1e-12)
    assert summary.regions["face"].pooled["fpsnr_y"] == pytest.approx(fovea, abs=1e-12)
    assert summary.pooled["m_fpsnr_y_fp0.25"] == pytest.approx(0.75 * fovea + 0.25 * periphery, abs=1e-12)


def test_a_cap_applies_per_frame_before_averaging(tmp_path, rng):
    ref, dist = planes_420(rng, 3, 16, 16, noise=3)
    dist[1] = ref[1]  # an identical frame: inf dB uncapped
    a, b = write_raw(tmp_path / "a.yuv", ref), write_raw(tmp_path / "b.yuv", dist)
    frames: list = []
    uncapped = score_video(a, b, size=(16, 16), on_frame=frames.append)
    assert uncapped.mean_db["psnr_y"] == math.inf and math.isfinite(uncapped.pooled["psnr_y"])
    capped = score_video(a, b, size=(16, 16), options=VideoOptions(max_db=50))
    assert capped.mean_db["psnr_y"] == pytest.approx(
        (frames[0].psnr[0] + 50 + frames[2].psnr[0]) / 3, abs=1e-12
    )


def test_raw_frames_are_views_of_the_mapped_file_not_copies(tmp_path, rng):
    from fpsnr.video.source import open_video

    ref, _ = planes_420(rng, 5, 20, 24)
    path = write_raw(tmp_path / "a.yuv", ref)
    with open_video(path, size=(24, 20)) as reader:
        first = reader.read()
        base = first.y.__array_interface__["data"][0]
        for n, expected in enumerate(ref[1:], start=1):
            frame = reader.read()
            assert frame.y.__array_interface__["data"][0] == base + n * 24 * 20 * 3 // 2
            assert np.array_equal(frame.v, expected[2]) and not frame.y.flags.writeable
        assert reader.read() is None


def test_a_file_cut_short_while_it_is_read_is_an_error_not_a_fault(tmp_path, rng):
    from fpsnr.errors import VideoError
    from fpsnr.video.source import open_video

    ref, _ = planes_420(rng, 4, 20, 24)
    path = write_raw(tmp_path / "a.yuv", ref)
    with open_video(path, size=(24, 20)) as reader:
        reader.read()
        with path.open("r+b") as handle:
            handle.truncate(24 * 20 * 3 // 2 + 10)
        with pytest.raises(VideoError, match="cut short while it was read"):
            reader.read()


@pytest.mark.parametrize("moving", [True, False])
def test_each_disc_is_built_once_a_frame_when_it_moves_and_once_when_it_stays(
    tmp_path, rng, monkeypatch, moving
):
    import fpsnr.regions.discs as discs_module
    import fpsnr.video.measure as measure_module
    from fpsnr.regions.tracks import parse_timeline

    frames = 4
    ref, dist = planes_420(rng, frames, 30, 44)
    a, b = write_raw(tmp_path / "a.yuv", ref), write_raw(tmp_path / "b.yuv", dist)
    end = [20.3, 17.6] if moving else [10.5, 9.5]
    tracks = [
        {
            "label": "m",
            "radius": 5,
            "keyframes": [{"frame": 0, "center": [10.5, 9.5]}, {"frame": 3, "center": end}],
        },
        {
            "label": "s",
            "radius": 4,
            "keyframes": [{"frame": 0, "center": [33, 20]}, {"frame": 3, "center": [33, 20]}],
        },
    ]
    timeline = parse_timeline({"width": 44, "height": 30, "tracks": tracks})
    built: list[tuple[float, float]] = []
    real = measure_module.disc_window

    def counting(disc, height, width, *, keep=True):
        built.append((disc.x, disc.y))
        return real(disc, height, width, keep=keep)

    monkeypatch.setattr(measure_module, "disc_window", counting)
    discs_module.clear_caches()
    stream = list(iter_video(a, b, timeline, size=(44, 30)))
    assert len(stream) == frames
    # Y, U and V share a frame's build; a disc that stays is built once for the sequence
    assert len(built) == (frames + 1 if moving else 2)
    # a moving disc's masks are not kept in the image engine's cache, which would only grow
    assert not discs_module._windows._items and not discs_module._shapes._items
    # and the luma sums are the image engine's own, cached path, on the same planes
    for (sums, _), r, d in zip(stream, ref, dist, strict=True):
        assert sums.planes[0] == measure_plane(r[0], d[0], sums.discs)
