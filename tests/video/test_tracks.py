"""Regions over time: keyframed tracks, per-frame lists, MOT boxes, and the missing-regions policy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import fpsnr
from fpsnr.errors import RegionsError
from fpsnr.regions.tracks import load_mot, load_timeline, load_video_regions, parse_timeline
from fpsnr.video import VideoOptions, iter_video
from tests.video.conftest import planes_420, write_raw


def test_a_track_is_interpolated_linearly_between_keyframes_and_absent_outside():
    timeline = parse_timeline(
        {
            "width": 100,
            "height": 80,
            "tracks": [
                {
                    "label": "face",
                    "keyframes": [
                        {"frame": 2, "center": [10, 20], "radius": 4},
                        {"frame": 6, "center": [30, 40], "radius": 12},
                        {"frame": 7, "center": [31, 40], "radius": 12},
                    ],
                }
            ],
            "frames": {"9": [{"center": [5, 5]}]},
        }
    )
    assert timeline.at(1) is None and timeline.at(8) is None
    at3 = timeline.at(3).regions[0]  # a quarter of the way from frame 2 to 6
    assert at3.center == (15.0, 25.0) and at3.radius == 6.0 and at3.label == "face"
    assert timeline.at(6).regions[0].center == (30.0, 40.0)
    assert timeline.at(7).regions[0].center == (31.0, 40.0)
    assert timeline.at(9).regions[0].radius is None  # a per-frame list, default radius


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            {
                "width": 10,
                "height": 10,
                "tracks": [{"keyframes": [{"frame": 3, "center": [1, 1]}, {"frame": 3, "center": [2, 2]}]}],
            },
            "come after",
        ),
        (
            {
                "width": 10,
                "height": 10,
                "tracks": [
                    {
                        "keyframes": [
                            {"frame": 0, "center": [1, 1], "radius": 2},
                            {"frame": 4, "center": [2, 2]},
                        ]
                    }
                ],
            },
            "neither",
        ),
        (
            {"width": 10, "height": 10, "tracks": [{"keyframes": [{"frame": -1, "center": [1, 1]}]}]},
            "frame number",
        ),
        ({"width": 10, "height": 10, "frames": {"x": [{"center": [1, 1]}]}}, "0-based"),
        ({"width": 10, "height": 10, "tracks": [{"keyframes": [{"frame": 0, "centre": [1, 1]}]}]}, "centre"),
        ({"width": 10, "tracks": []}, "height"),
    ],
)
def test_malformed_track_files_are_one_line_naming_the_json_path(document, words):
    with pytest.raises(RegionsError, match=words) as err:
        parse_timeline(document, source="t.json")
    assert "t.json: $" in str(err.value) and "\n" not in str(err.value)


def test_mot_boxes_become_discs_of_the_box_area_at_its_centre(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,7,10,20,8,6,1,-1,-1,-1\n1,8,0,0,4,4,0,-1,-1,-1\n3,7,12,20,8,6,1,-1,-1,-1\n")
    timeline = load_video_regions(path)
    (first,) = timeline.at(0)  # MOT frame 1 is frame 0; the conf-0 box is left out
    assert first.center == (13.5, 22.5) and first.radius == pytest.approx(math.sqrt(48 / math.pi))
    assert first.label == "id-7" and timeline.at(1) is None and timeline.at(2)[0].center == (15.5, 22.5)
    path.write_text("0,1,1,1,2,2\n")
    with pytest.raises(RegionsError, match="count from 1"):
        load_mot(path)


def test_a_moving_region_is_scored_at_its_interpolated_place_each_frame(tmp_path, rng):
    ref, dist = planes_420(rng, 5, 48, 64, noise=15)
    a, b = write_raw(tmp_path / "a.yuv", ref), write_raw(tmp_path / "b.yuv", dist)
    track = tmp_path / "track.json"
    # written for a frame twice the size: coordinates scale like a regions file's
    track.write_text(
        json.dumps(
            {
                "width": 128,
                "height": 96,
                "tracks": [
                    {
                        "label": "m",
                        "radius": 16,
                        "keyframes": [
                            {"frame": 0, "center": [20.5, 30.5]},
                            {"frame": 4, "center": [100.5, 50.5]},
                        ],
                    }
                ],
            }
        )
    )
    timeline = load_timeline(track)
    for (sums, score), r, d, f in zip(
        iter_video(a, b, timeline, size=(64, 48)), ref, dist, range(5), strict=True
    ):
        x = (20.5 + 20 * f + 0.5) / 2 - 0.5
        y = (30.5 + 5 * f + 0.5) / 2 - 0.5
        alone = fpsnr.score(r[0], d[0], [fpsnr.Region((x, y), radius=8, label="m")])
        assert (sums.discs[0].x, sums.discs[0].y, sums.discs[0].radius) == pytest.approx((x, y, 8))
        assert score.y[0].m_fpsnr == alone.m_fpsnr


def test_a_frame_without_regions_is_refused_or_takes_the_centre(tmp_path, rng):
    ref, dist = planes_420(rng, 3, 20, 20)
    a, b = write_raw(tmp_path / "a.yuv", ref), write_raw(tmp_path / "b.yuv", dist)
    timeline = parse_timeline(
        {"width": 20, "height": 20, "frames": {"0": [{"center": [4, 4], "radius": 3}]}}, source="f.json"
    )
    with pytest.raises(RegionsError, match=r"f.json: frame 1 has no regions.*missing_regions") as err:
        list(iter_video(a, b, timeline, size=(20, 20)))
    assert "\n" not in str(err.value)
    seen = list(iter_video(a, b, timeline, VideoOptions(), size=(20, 20), missing_regions="center"))
    assert [s.discs[0].label for s, _ in seen] == ["region-1", "center", "center"]
    assert seen[1][0].discs[0][:2] == (9.5, 9.5)
    assert np.isfinite(seen[2][1].y[0].m_fpsnr)
    proposed = list(iter_video(a, b, timeline, VideoOptions(), size=(20, 20), missing_regions="suggest"))
    assert proposed[0][0].discs[0].label == "region-1"
    assert all(d.label.startswith("salient-") for s, _ in proposed[1:] for d in s.discs)
