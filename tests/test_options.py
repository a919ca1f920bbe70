"""ScoreOptions: one record, checked once, honoured by every scoring path."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fpsnr
from fpsnr.options import DEFAULT_FP, SWEEP_FPS, BatchOptions, ScoreOptions
from fpsnr.regions.model import Region


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fps": ()}, "give at least one Fp"),
        ({"fps": (0.5, 1.5)}, r"Fp must be in \[0, 1\], got 1.5"),
        ({"fps": ("x",)}, "Fp must be a number"),
        ({"channel": "lab"}, "channel must be 'rgb' or 'y', got 'lab'"),
        ({"alpha": "keep"}, "alpha must be 'error' or 'drop'"),
        ({"max_db": 0.0}, "max_db must be a positive finite number"),
        ({"max_db": math.inf}, "max_db must be a positive finite number"),
        ({"data_range": -1.0}, "data range must be a positive finite number"),
        ({"viewing_distance": 0.0}, "viewing distance must be a positive number"),
        ({"foveal_angle": 180.0}, r"foveal angle must be in \(0, 180\) degrees"),
    ],
)
def test_every_field_is_checked_where_the_record_is_built(kwargs, message):
    with pytest.raises(fpsnr.FpsnrError, match=message):
        ScoreOptions(**kwargs)


def test_batch_options_add_the_missing_regions_policy():
    with pytest.raises(fpsnr.ParameterError, match="missing_regions must be 'error', 'center' or 'suggest'"):
        BatchOptions(missing_regions="guess")  # type: ignore[arg-type]
    opts = BatchOptions(fps=(0, 0.5), missing_regions="center")
    assert opts.fps == (0.0, 0.5) and isinstance(opts, ScoreOptions)
    # the settings a resumable batch output records: same keys, same order as 0.1.0 wrote
    assert list(opts.to_json()) == ["fps", "channel", "data_range", "max_db", "alpha", "viewing_distance",
                                    "foveal_angle", "missing_regions"]  # fmt: skip


def test_defaults_are_the_papers():
    assert ScoreOptions().fps == (DEFAULT_FP,) == (0.5,)
    assert SWEEP_FPS == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def test_score_pair_honours_every_option(rng):
    ref = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    test = np.clip(ref.astype(int) + rng.integers(-9, 10, ref.shape), 0, 255).astype(np.uint8)
    test[10:20, 10:20] = ref[10:20, 10:20]  # one region identical: inf unless capped
    regions = [Region((15, 15), 4.0, "exact"), Region((50, 30))]
    opts = ScoreOptions(fps=(0.0, 0.3, 1.0), channel="y", max_db=60.0, viewing_distance=2.0, foveal_angle=9.0)
    got = fpsnr.score_pair(ref, test, regions, opts, ref="a", test="b")
    for fp, s in zip(opts.fps, got, strict=True):
        want = fpsnr.score(ref, test, regions, fp=fp, channel="y", max_db=60.0, viewing_distance=2.0,
                           foveal_angle=9.0)  # fmt: skip
        assert (s.ref, s.test, s.fp) == ("a", "b", fp)
        assert s.m_fpsnr == want.m_fpsnr and s.regions == want.regions
    assert got[0].regions[0].fpsnr == 60.0  # the cap reached the identical region
    assert got[0].regions[1].radius == pytest.approx(2.0 * 60 * math.tan(math.radians(4.5)))


def test_fp_minus_zero_is_zero():
    """G29: --fp -0 wrote -0.0 in the fp column."""
    import math

    from fpsnr.options import check_fp

    assert math.copysign(1.0, check_fp(-0.0)) == 1.0 and math.copysign(1.0, check_fp("-0")) == 1.0
