"""fpsnr video against the tools that define each convention: ffmpeg's psnr filter and libvmaf.

Every case makes its inputs with numpy or a real ffmpeg inside the test (small, in
tmp_path) and skips cleanly without ffmpeg; nothing here is a recorded number.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

import fpsnr
from fpsnr.video import VideoOptions, iter_video, score_video
from tests.video.conftest import planes_420, write_raw
from tests.video.tools import ffmpeg_psnr, libvmaf_psnr, raw_input


def assert_matches_ffmpeg(frames: list, summary, rows: list[dict[str, float]], totals: list[float]) -> None:
    assert len(frames) == len(rows)
    for score, row in zip(frames, rows, strict=True):
        for p, plane in enumerate("yuv"):
            # the stats file prints 2 decimals: ours rounds to the same figure
            assert abs(score.mse[p] - row[f"mse_{plane}"]) <= 0.005 + 1e-9
            assert abs(score.psnr[p] - row[f"psnr_{plane}"]) <= 0.005 + 1e-9
    y, u, v, _ = totals
    pooled = summary.pooled
    for ours, theirs in ((pooled["psnr_y"], y), (pooled["psnr_u"], u), (pooled["psnr_v"], v)):
        assert abs(ours - theirs) <= 5e-7  # the summary prints 6 decimals


def _distorted_bus(ffmpeg: str, bus: Path, tmp: Path) -> Path:
    mp4 = tmp / "bus.mp4"
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            *raw_input(bus, "352x288", "yuv420p"),
            "-c:v",
            "libx264",
            "-crf",
            "35",
            str(mp4),
        ],
        check=True,
    )
    out = tmp / "bus_x264.yuv"
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(mp4), "-f", "rawvideo", "-pix_fmt", "yuv420p", str(out)], check=True
    )
    return out


def test_8bit_raw_and_y4m_equal_ffmpeg_psnr_frame_by_frame_and_pooled(ffmpeg, bus, tmp_path):
    dist = _distorted_bus(ffmpeg, bus, tmp_path)
    frames: list = []
    options = VideoOptions(rule="4:1:1-mse")
    summary = score_video(bus, dist, options=options, size=(352, 288), on_frame=frames.append)
    rows, totals = ffmpeg_psnr(
        ffmpeg, raw_input(bus, "352x288", "yuv420p"), raw_input(dist, "352x288", "yuv420p"), tmp_path
    )
    assert_matches_ffmpeg(frames, summary, rows, totals)
    assert abs(summary.pooled["psnr_yuv"] - totals[3]) <= 5e-7  # ffmpeg's average: is the 4:1:1-mse rule
    # the same frames as Y4M (written by ffmpeg) give the same sums, exactly
    y4m = []
    for name, source in (("ref", bus), ("dist", dist)):
        target = tmp_path / f"{name}.y4m"
        subprocess.run(
            [ffmpeg, "-v", "error", *raw_input(source, "352x288", "yuv420p"), str(target)], check=True
        )
        y4m.append(target)
    again = score_video(y4m[0], y4m[1], options=options)
    assert again.pooled == summary.pooled and again.mean_db == summary.mean_db


def test_10bit_raw_equals_ffmpeg_and_hm_peak_is_hand_worked(ffmpeg, tmp_path, rng):
    ref, dist = planes_420(rng, 5, 72, 88, depth=10, noise=9)
    a, b = write_raw(tmp_path / "a.yuv", ref), write_raw(tmp_path / "b.yuv", dist)
    frames: list = []
    summary = score_video(
        a,
        b,
        size=(88, 72),
        pix_fmt="yuv420p10le",
        options=VideoOptions(rule="4:1:1-mse"),
        on_frame=frames.append,
    )
    rows, totals = ffmpeg_psnr(
        ffmpeg, raw_input(a, "88x72", "yuv420p10le"), raw_input(b, "88x72", "yuv420p10le"), tmp_path
    )
    assert_matches_ffmpeg(frames, summary, rows, totals)
    assert abs(summary.pooled["psnr_yuv"] - totals[3]) <= 5e-7
    hm = score_video(a, b, size=(88, 72), pix_fmt="yuv420p10le", options=VideoOptions(peak="hm"))
    shift = 20 * math.log10(1020 / 1023)  # HM's peak 255 << 2 = 1020 against 2^10 − 1
    assert hm.peak == 1020
    assert hm.mean_db["psnr_y"] - summary.mean_db["psnr_y"] == pytest.approx(shift, abs=1e-12)
    assert hm.pooled["psnr_v"] - summary.pooled["psnr_v"] == pytest.approx(shift, abs=1e-12)


def test_mp4_through_ffmpeg_equals_ffmpeg_psnr(ffmpeg, tmp_path):
    from tests.video.conftest import SHARED_VIDEO

    ref, dist = SHARED_VIDEO / "carphone_pristine.mp4", SHARED_VIDEO / "carphone_distorted.mp4"
    if not ref.is_file():
        pytest.skip("../shared/data/video is not present (fresh clone)")
    frames: list = []
    summary = score_video(ref, dist, options=VideoOptions(rule="4:1:1-mse"), on_frame=frames.append)
    rows, totals = ffmpeg_psnr(ffmpeg, ["-i", str(ref)], ["-i", str(dist)], tmp_path)
    assert summary.frames == 120
    assert_matches_ffmpeg(frames, summary, rows, totals)
    assert abs(summary.pooled["psnr_yuv"] - totals[3]) <= 5e-7


@pytest.mark.parametrize(("depth", "pix_fmt"), [(8, "yuv420p"), (10, "yuv420p10le")])
def test_per_frame_psnr_y_and_its_mean_equal_libvmaf(vmaf_ffmpeg, tmp_path, rng, depth, pix_fmt):
    ref, dist = planes_420(rng, 6, 64, 80, depth=depth, noise=4 << (depth - 8))
    dist[2] = ref[2]  # an identical frame: libvmaf's cap
    a, b = write_raw(tmp_path / "a.yuv", ref), write_raw(tmp_path / "b.yuv", dist)
    report = libvmaf_psnr(
        vmaf_ffmpeg, raw_input(a, "80x64", pix_fmt), raw_input(b, "80x64", pix_fmt), tmp_path
    )
    frames: list = []
    # libvmaf caps PSNR at 6·b + 12 dB (60 dB for 8 bit, 72 for 10)
    cap = 6 * depth + 12
    summary = score_video(
        a, b, size=(80, 64), pix_fmt=pix_fmt, options=VideoOptions(max_db=cap), on_frame=frames.append
    )
    assert frames[2].psnr[0] == cap
    theirs = [f["metrics"]["psnr_y"] for f in report["frames"]]
    assert [round(s.psnr[0], 6) for s in frames] == pytest.approx(theirs, abs=1e-6)
    for plane, key in ((1, "psnr_cb"), (2, "psnr_cr")):
        assert [round(s.psnr[plane], 6) for s in frames] == pytest.approx(
            [f["metrics"][key] for f in report["frames"]], abs=1e-6
        )
    assert summary.mean_db["psnr_y"] == pytest.approx(report["pooled_metrics"]["psnr_y"]["mean"], abs=1e-6)


def test_foveal_values_equal_the_image_engine_on_each_y_plane(tmp_path, rng):
    ref, dist = planes_420(rng, 4, 60, 90, depth=10, noise=20)
    a, b = write_raw(tmp_path / "a.yuv", ref), write_raw(tmp_path / "b.yuv", dist)
    regions = [fpsnr.Region((30, 20), radius=9, label="a"), fpsnr.Region((36, 25), radius=12, label="b")]
    options = VideoOptions(fps=(0.0, 0.3, 1.0))
    seen = list(iter_video(a, b, regions, options, size=(90, 60), pix_fmt="yuv420p10le"))
    for (_, score), (r, d) in zip(seen, zip(ref, dist, strict=True), strict=True):
        for fp, y in zip(options.fps, score.y, strict=True):
            alone = fpsnr.score(r[0], d[0], regions, fp=fp, data_range=1023)
            assert y.m_fpsnr == alone.m_fpsnr
            assert [x.fpsnr for x in y.regions] == [x.fpsnr for x in alone.regions]
        assert score.psnr[0] == fpsnr.psnr(r[0], d[0], data_range=1023)


def test_a_moving_face_on_the_carphone_pair_equals_the_engine_on_ffmpeg_decoded_planes(ffmpeg, tmp_path):
    from fpsnr.regions.tracks import parse_timeline
    from tests.video.conftest import SHARED_VIDEO

    ref, dist = SHARED_VIDEO / "carphone_pristine.mp4", SHARED_VIDEO / "carphone_distorted.mp4"
    if not ref.is_file():
        pytest.skip("../shared/data/video is not present (fresh clone)")
    # the face, placed by eye on frames 0, 60 and 119, in a 352×288 view of the 176×144 clip
    keys = [(0, 175, 135), (60, 160, 125), (119, 146, 130)]
    timeline = parse_timeline(
        {
            "width": 352,
            "height": 288,
            "tracks": [
                {
                    "label": "face",
                    "radius": 55,
                    "keyframes": [{"frame": f, "center": [x, y]} for f, x, y in keys],
                }
            ],
        }
    )
    planes = []
    for source in (ref, dist):
        raw = tmp_path / f"{source.stem}.yuv"
        subprocess.run(
            [ffmpeg, "-v", "error", "-i", str(source), "-f", "rawvideo", "-pix_fmt", "yuv420p", str(raw)],
            check=True,
        )
        frames = np.fromfile(raw, np.uint8).reshape(-1, 176 * 144 * 3 // 2)
        planes.append([f[: 176 * 144].reshape(144, 176) for f in frames])
    seen = list(iter_video(ref, dist, timeline, VideoOptions(fps=(0.0, 0.5))))
    assert len(seen) == 120
    for (sums, score), r, d, f in zip(seen, planes[0], planes[1], range(120), strict=True):
        a, b = (keys[0], keys[1]) if f <= 60 else (keys[1], keys[2])
        t = (f - a[0]) / (b[0] - a[0])
        x, y = a[1] + t * (b[1] - a[1]), a[2] + t * (b[2] - a[2])
        centre = ((x + 0.5) / 2 - 0.5, (y + 0.5) / 2 - 0.5)
        assert (sums.discs[0].x, sums.discs[0].y) == pytest.approx(centre, abs=1e-9)
        alone = fpsnr.score(r, d, [fpsnr.Region(centre, radius=27.5, label="face")], fp=0.5)
        assert score.y[1].m_fpsnr == pytest.approx(alone.m_fpsnr, abs=1e-12)
        assert score.regions[0].fpsnr[0] == pytest.approx(alone.regions[0].fpsnr, abs=1e-12)
