"""Proposals per frame: the image proposals without memory, steadier labels and places with it."""

from __future__ import annotations

import itertools
import math

import numpy as np

from fpsnr.regions.proposals import suggest_regions
from fpsnr.video import VideoOptions, iter_video
from fpsnr.video.suggest import SuggestedRegions
from tests.video.conftest import write_raw


def blobs(rng, frames, height=72, width=96, jitter=1.0):
    """Two bright blobs of equal strength on a noisy grey field; the noise changes every frame."""
    yy, xx = np.mgrid[0:height, 0:width]
    out = []
    for f in range(frames):
        img = 90 + rng.normal(0, 6 * jitter, (height, width))
        for cx, cy in ((30 + f * 0.5, 36), (66, 36)):
            img += 120 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 30)
        y = np.clip(img, 0, 255).astype(np.uint8)
        u = np.full((height // 2, width // 2), 128, np.uint8)
        out.append((y, u, u.copy()))
    return out


def test_without_memory_each_frame_gets_exactly_the_image_proposals(rng):
    frames = blobs(rng, 4)
    tracker = SuggestedRegions(memory=0.0, max_regions=3, viewing_distance=3.0, foveal_angle=5.0)
    for y, _, _ in frames:
        got = tracker.at(y)
        alone = suggest_regions(y, max_regions=3)
        assert [r.center for r in got.regions] == [r.center for r in alone.regions]


def test_with_memory_labels_follow_objects_and_discs_move_less(rng):
    frames = blobs(rng, 24, jitter=3.0)

    def path(memory):
        tracker = SuggestedRegions(memory=memory, max_regions=2, viewing_distance=3.0, foveal_angle=5.0)
        return [{r.label: r.center for r in tracker.at(y).regions} for y, _, _ in frames]

    def jumps(frames_labels):
        total, new = 0.0, 0
        for before, after in itertools.pairwise(frames_labels):
            for label, centre in after.items():
                if label in before:
                    total += math.dist(before[label], centre)
                else:
                    new += 1
        return total, new

    steady, plain = jumps(path(0.8)), jumps(path(0.0))
    assert steady[1] <= min(plain[1], 1)  # labels kept: at most one new one in 24 frames
    assert steady[0] < 0.8 * plain[0]  # and the discs move less
    first = path(0.8)[0]
    assert sorted(first) == ["salient-1", "salient-2"]


def test_suggest_through_the_video_engine(tmp_path, rng):
    frames = blobs(rng, 5)
    a = write_raw(tmp_path / "a.yuv", frames)
    noisy = [tuple(np.clip(p.astype(int) + 3, 0, 255).astype(np.uint8) for p in f) for f in frames]
    b = write_raw(tmp_path / "b.yuv", noisy)
    seen = list(iter_video(a, b, "suggest", VideoOptions(), size=(96, 72)))
    assert len(seen) == 5 and all(1 <= len(s.discs) <= 3 for s, _ in seen)
    # the blobs barely move: every frame keeps the first frame's labels
    assert all({d.label for d in s.discs} == {d.label for d in seen[0][0].discs} for s, _ in seen)
