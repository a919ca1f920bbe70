"""fpsnr.torch against the numpy engine: same numbers, gradients, errors, the accumulator, the loss."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fpsnr  # noqa: E402
import fpsnr.torch as ft  # noqa: E402
from fpsnr import Region  # noqa: E402


def _pair(rng, b, c, h, w):
    x = rng.random((b, h, w, c))
    y = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1)
    return x, y


def _tensor(a):
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(a, -1, 1)))


REGION_SETS = [
    [Region((10.3, 7.7), 5.2, "a"), Region((13.1, 9.0), 4.0, "b")],  # fractional, overlapping
    [Region((0.0, 0.0), 6.0, "corner"), Region((29.5, 19.5), 3.5, "edge")],  # clipped at the border
    [Region((15, 10), 2.0)],  # default label
]


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("channel", ["rgb", "y"])
@pytest.mark.parametrize("fp", [0.0, 0.3, 1.0])
def test_float64_values_equal_the_numpy_engine(rng, channels, channel, fp):
    x, y = _pair(rng, 3, channels, 20, 30)
    got = ft.foveal_scores(_tensor(x), _tensor(y), REGION_SETS, channel=channel)
    m = ft.m_fpsnr(_tensor(x), _tensor(y), REGION_SETS, fp=fp, channel=channel)
    for b in range(3):
        a, t = (x[b], y[b]) if channels == 3 else (x[b, :, :, 0], y[b, :, :, 0])
        want = fpsnr.score(a, t, REGION_SETS[b], fp=fp, channel=channel, data_range=1.0)
        assert float(got.psnr[b]) == pytest.approx(want.psnr, abs=1e-9)
        assert float(got.mean_fpsnr[b]) == pytest.approx(want.mean_fpsnr, abs=1e-9)
        assert float(got.periphery_psnr[b]) == pytest.approx(want.periphery_psnr, abs=1e-9)
        assert float(m[b]) == pytest.approx(want.m_fpsnr, abs=1e-9)
        for k, region in enumerate(want.regions):
            assert float(got.region_psnrs[b, k]) == pytest.approx(region.fpsnr, abs=1e-9)
            assert float(got.region_mses[b, k]) == pytest.approx(region.mse, rel=1e-12)
        assert torch.isnan(got.region_psnrs[b, len(want.regions) :]).all()


def test_integer_tensors_with_a_data_range_equal_the_uint8_engine(rng):
    x = rng.integers(0, 256, (2, 24, 32, 3), dtype=np.uint8)
    y = np.clip(x.astype(int) + rng.integers(-20, 21, x.shape), 0, 255).astype(np.uint8)
    got = ft.m_fpsnr(_tensor(x), _tensor(y), REGION_SETS[:2], fp=0.5, data_range=255)
    for b in range(2):
        assert float(got[b]) == pytest.approx(fpsnr.score(x[b], y[b], REGION_SETS[b]).m_fpsnr, abs=1e-9)


def test_float32_is_within_a_thousandth_of_a_db(rng):
    x, y = _pair(rng, 2, 3, 512, 768)
    regions = [[Region((300.5, 200.25), 67.0), Region((500, 260), 40)]] * 2
    got = ft.m_fpsnr(_tensor(x).float(), _tensor(y).float(), regions)
    want = ft.m_fpsnr(_tensor(x), _tensor(y), regions)
    assert torch.allclose(got.double(), want, atol=1e-3)


def test_regions_from_a_file_scale_and_padded_tensors_agree(rng):
    x, y = _pair(rng, 2, 3, 20, 30)
    file_regions = fpsnr.Regions((Region((20.6, 15.4), 10.0), Region((40, 10))), width=60, height=40)
    a = ft.m_fpsnr(_tensor(x), _tensor(y), [file_regions, file_regions])
    want = fpsnr.score(x[0], y[0], file_regions, data_range=1.0).m_fpsnr
    assert float(a[0]) == pytest.approx(want, abs=1e-9)
    table = torch.tensor([[[10.3, 7.7, 5.2], [13.1, 9.0, 4.0]], [[15.0, 10.0, 2.0], [0.0, 0.0, 0.0]]])
    mask = torch.tensor([[True, True], [True, False]])
    padded = ft.m_fpsnr(_tensor(x), _tensor(y), (table.double(), mask))
    listed = ft.m_fpsnr(_tensor(x), _tensor(y), [REGION_SETS[0], REGION_SETS[2]])
    assert torch.allclose(padded, listed, atol=1e-12)


def test_gradients_are_right(rng):
    x, y = _pair(rng, 2, 3, 8, 9)
    regions = [[Region((3.2, 4.1), 2.5), Region((5, 3), 2.0)], [Region((4, 4), 3.0)]]
    xt = _tensor(x).requires_grad_()
    yt = _tensor(y)
    assert torch.autograd.gradcheck(lambda a: ft.m_fpsnr(a, yt, regions, fp=0.4), (xt,))
    assert torch.autograd.gradcheck(lambda a: ft.FovealMSELoss(0.4)(a, yt, regions), (xt,))
    assert torch.autograd.gradcheck(lambda a: ft.FovealMSELoss(0.4, log=True)(a, yt, regions), (xt,))


def test_the_log_loss_is_the_m_fpsnr_up_to_a_constant(rng):
    x, y = _pair(rng, 1, 3, 16, 16)
    regions = [[Region((5, 5), 3.0), Region((10, 11), 4.0)]]
    loss = ft.FovealMSELoss(0.3, log=True)(_tensor(x), _tensor(y), regions)
    score = float(ft.m_fpsnr(_tensor(x), _tensor(y), regions, fp=0.3)[0])
    assert float(loss) == pytest.approx(-score * math.log(10) / 10, abs=1e-12)  # MAX = 1: the constant is 0
    plain = ft.FovealMSELoss(0.3)(_tensor(x), _tensor(y), regions)
    s = ft.foveal_scores(_tensor(x), _tensor(y), regions)
    assert float(plain) == pytest.approx(
        0.7 * float(s.region_mses[0].mean()) + 0.3 * float(s.periphery_mse[0])
    )
    assert float(plain) >= 10 ** (-score / 10) - 1e-15  # weighted AM-GM, as the docstring states


def test_the_accumulator_averages_db_per_image(rng):
    metric = ft.FovealMetric(fp=0.5)
    per_image = []
    for _ in range(3):
        x, y = _pair(rng, 2, 3, 20, 30)
        metric.update(_tensor(x), _tensor(y), REGION_SETS[:2])
        per_image += [fpsnr.score(x[b], y[b], REGION_SETS[b], data_range=1.0).m_fpsnr for b in range(2)]
    assert metric.compute()["m_fpsnr"] == pytest.approx(np.mean(per_image), abs=1e-9)
    metric.reset()
    with pytest.raises(ValueError, match="no images yet"):
        metric.compute()


def test_identical_images_give_inf_without_nan(rng):
    x, _ = _pair(rng, 1, 3, 12, 12)
    regions = [[Region((6, 6), 3.0)]]
    assert math.isinf(float(ft.m_fpsnr(_tensor(x), _tensor(x), regions, fp=0.5)[0]))
    assert math.isinf(float(ft.m_fpsnr(_tensor(x), _tensor(x), regions, fp=0.0)[0]))


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda x, y: ft.m_fpsnr(x, y, [[Region((100, 100), 2.0)]] * 2), "holds no pixel"),
        (lambda x, y: ft.m_fpsnr(x, y, [[]] * 2), "has no regions"),
        (lambda x, y: ft.m_fpsnr(x, y, [[Region((3, 3), 2.0)]] * 3), "3 region entries for a batch of 2"),
        (lambda x, y: ft.m_fpsnr(x, y[:1], [[Region((3, 3), 2.0)]] * 2), r"same \(B, C, H, W\) shape"),
        (
            lambda x, y: ft.m_fpsnr(
                (x * 255).to(torch.uint8), (y * 255).to(torch.uint8), [[Region((3, 3), 2)]] * 2
            ),
            "need data_range",
        ),
        (lambda x, y: ft.m_fpsnr(x, y, [[Region((4, 4), 50.0)]] * 2, fp=0.5), "periphery is empty"),
        (lambda x, y: ft.m_fpsnr(x, y, Region((3, 3), 2.0)), "one entry per image"),
    ],
)
def test_bad_input_is_one_clear_value_error(rng, call, text):
    x, y = _pair(rng, 2, 3, 8, 8)
    with pytest.raises(ValueError, match=text):
        call(_tensor(x), _tensor(y))


def test_import_fpsnr_does_not_import_torch():
    code = "import sys, fpsnr; fpsnr.score; print('torch' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    )


@pytest.mark.parametrize("flip", [False, True])
def test_a_crops_regions_are_the_images_regions_cropped(rng, flip):
    from fpsnr.codec.training.crops import crop_discs

    discs = torch.tensor([[40.5, 30.25, 12.0], [70.0, 10.0, 8.0], [5.0, 60.0, 20.0]], dtype=torch.float64)
    x0, y0, patch = 31, 17, 32
    full = np.zeros((80, 100), bool)
    for cx, cy, r in discs.tolist():
        full |= fpsnr.regions.discs.disc_mask((80, 100), (cx, cy), r)
    want = full[y0 : y0 + patch, x0 : x0 + patch]
    if flip:
        want = want[:, ::-1]
    got = np.zeros((patch, patch), bool)
    for d in crop_discs(discs, x0, y0, patch, flip=flip):
        got |= fpsnr.regions.discs.disc_mask((patch, patch), (d.x, d.y), d.radius)
    assert np.array_equal(got, want)
    empty = crop_discs(torch.tensor([[500.0, 500.0, 3.0]], dtype=torch.float64), 0, 0, patch, flip=flip)
    assert [d.label for d in empty] == ["center"]  # nothing left in the crop: the single-focus fallback


def test_train_with_foveal_mse_runs_and_logs_val_foveal_metrics(tmp_path, rng):
    pytest.importorskip("compressai")
    import csv

    from click.testing import CliRunner

    from fpsnr.cli import cli
    from fpsnr.images.io import write_image

    photos, val, regions = tmp_path / "photos", tmp_path / "val", tmp_path / "regions"
    for folder in (photos, val, regions):
        folder.mkdir()
    yy, xx = np.mgrid[0:96, 0:128]
    for i in range(2):
        img = np.clip(
            np.stack([xx + 30 * i, yy, (xx * yy) % 256], 2) + rng.integers(0, 20, (96, 128, 3)), 0, 255
        )
        write_image(photos / f"p{i}.png", img.astype(np.uint8))
        write_image(val / f"v{i}.png", img.astype(np.uint8))
        (regions / f"p{i}.json").write_text('{"width": 128, "height": 96, "regions": [{"center": [40, 30]}]}')
        (regions / f"v{i}.json").write_text('{"width": 128, "height": 96, "regions": [{"center": [64, 48]}]}')
    run = tmp_path / "run"
    args = ["codec", "train", "--data", str(photos), "--lmbda", "0.01", "--distortion", "foveal-mse",
            "--fp", "0.3", "--train-regions", str(regions), "--val", str(val), "--val-regions", str(regions),
            "--out", str(run), "--max-steps", "4", "--N", "8", "--M", "8", "--patch", "64",
            "--batch-size", "2", "--log-every", "2", "--val-every", "2"]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    with (run / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["step"] for r in rows] == ["2", "4"]
    for row in rows:
        assert all(
            math.isfinite(float(row[k])) for k in ("loss", "val_psnr", "val_mean_fpsnr", "val_m_fpsnr")
        )
    import json

    assert json.loads((run / "config.json").read_text())["distortion"] == "foveal-mse"


def _one_step_run(tmp_path, rng):
    """A tiny training run of one step in ``tmp_path/run``, from one 80×80 photo."""
    from click.testing import CliRunner

    from fpsnr.cli import cli
    from fpsnr.images.io import write_image

    photos = tmp_path / "photos"
    photos.mkdir()
    write_image(photos / "p.png", rng.integers(0, 256, (80, 80, 3), dtype=np.uint8))
    run = tmp_path / "run"
    start = ["codec", "train", "--data", str(photos), "--lmbda", "0.01", "--out", str(run), "--N", "8",
             "--M", "8", "--patch", "64", "--batch-size", "1", "--max-steps", "1"]  # fmt: skip
    assert CliRunner().invoke(cli, start).exit_code == 0
    return run


def test_train_resume_refuses_changed_settings(tmp_path, rng):
    """Newcomer finding 17: --resume RUN --lmbda 0.5 trained at the old λ without a word."""
    pytest.importorskip("compressai")
    from click.testing import CliRunner

    from fpsnr.cli import cli

    run = _one_step_run(tmp_path, rng)
    res = CliRunner().invoke(cli, ["codec", "train", "--resume", str(run), "--lmbda", "0.5",
                                   "--max-steps", "2"])  # fmt: skip
    assert res.exit_code == 1 and "refused: --lmbda 0.5 (the run has 0.01)" in res.stderr
    same = ["codec", "train", "--resume", str(run), "--lmbda", "0.01", "--patch", "64", "--max-steps", "2"]
    assert CliRunner().invoke(cli, same).exit_code == 0


def test_ms_ssim_with_small_crops_is_refused_up_front(tmp_path):
    """Newcomer finding 11: --distortion ms-ssim --patch 64 ended in a 13-frame traceback."""
    pytest.importorskip("compressai")
    from click.testing import CliRunner

    from fpsnr.cli import cli

    res = CliRunner().invoke(cli, ["codec", "train", "--data", str(tmp_path), "--lmbda", "0.01", "--out",
                                   str(tmp_path / "run"), "--distortion", "ms-ssim", "--patch", "64",
                                   "--max-steps", "1"])  # fmt: skip
    assert res.exit_code == 1 and "needs crops larger than 160 px" in res.stderr
    assert "Traceback" not in res.output


# ---- one numeric contract with the numpy engine (reliability 2026-12, G10–G14)


def test_a_nan_pixel_makes_nan_exactly_where_it_lies(rng):
    """G10: one NaN gave mean F_PSNR 0.0 dB, NaN in regions without it, and 'the periphery
    is empty'; the foveal-MSE loss raised, ending training."""
    x, y = _pair(rng, 1, 3, 40, 60)
    regions = [[Region((15, 20), 6.0, "has-it"), Region((45, 20), 6.0, "clean")]]
    want = fpsnr.score(x[0], y[0], regions[0], fp=0.5, data_range=1.0)
    y[0, 20, 15, 1] = np.nan  # inside the first region only
    got = ft.foveal_scores(_tensor(x), _tensor(y), regions)
    assert math.isnan(float(got.region_psnrs[0, 0])) and math.isnan(float(got.psnr[0]))
    assert float(got.region_psnrs[0, 1]) == pytest.approx(want.regions[1].fpsnr, abs=1e-9)
    assert float(got.periphery_psnr[0]) == pytest.approx(want.periphery_psnr, abs=1e-9)
    assert math.isnan(float(got.mean_fpsnr[0]))  # never a finite 0.0
    assert math.isnan(float(ft.m_fpsnr(_tensor(x), _tensor(y), regions, fp=0.5)[0]))  # no "periphery empty"
    assert math.isnan(float(ft.FovealMSELoss(0.5)(_tensor(y), _tensor(x), regions)))  # a NaN loss: skipped
    y[0, 20, 15, 1] = np.inf
    inf = ft.foveal_scores(_tensor(x), _tensor(y), regions)
    assert float(inf.region_psnrs[0, 0]) == -math.inf and math.isfinite(float(inf.region_psnrs[0, 1]))


def test_half_precision_is_computed_in_float32(rng):
    """G11: float16 sums stopped at 65,504 (F_PSNR inf, PSNR −inf); bfloat16 was 0.12 dB off."""
    x, y = _pair(rng, 1, 3, 256, 384)
    regions = [[Region((190, 128), 120.0)]]
    want = ft.m_fpsnr(_tensor(x).float(), _tensor(y).float(), regions, fp=0.5)
    for dtype in (torch.float16, torch.bfloat16):
        a, b = _tensor(x).to(dtype), _tensor(y).to(dtype)
        exact = ft.m_fpsnr(a.double(), b.double(), regions, fp=0.5)  # the half values themselves
        got = ft.m_fpsnr(a, b, regions, fp=0.5)
        assert got.dtype == torch.float32 and math.isfinite(float(got[0]))
        assert float(got[0]) == pytest.approx(float(exact[0]), abs=1e-3)
        assert abs(float(got[0]) - float(want[0])) < 0.1  # only the inputs' own rounding


@pytest.mark.parametrize(
    ("make", "data_range"),
    [
        (lambda x: x * 255, None),  # 0–255 floats under the default range 1
        (lambda x: (x * 255).to(torch.uint8), 1),
        (lambda x: x - 0.5, None),  # negative values
    ],
)
def test_values_outside_the_range_are_refused_as_the_numpy_engine_refuses_them(rng, make, data_range):
    """G12: 0–255 floats scored −14.75 dB, uint8 with data_range=1 −17.0 dB."""
    x, y = _pair(rng, 1, 3, 8, 8)
    with pytest.raises(fpsnr.ImageError, match=r"outside \[0, "):
        ft.m_fpsnr(make(_tensor(x)), make(_tensor(y)), [[Region((4, 4), 2.0)]], data_range=data_range)


def test_the_loss_accepts_a_reconstruction_beyond_the_range_but_not_a_target(rng):
    x, y = _pair(rng, 1, 3, 12, 12)
    regions = [[Region((6, 6), 3.0)]]
    loss = ft.FovealMSELoss(0.5)(_tensor(y) * 1.2 - 0.1, _tensor(x), regions)  # a codec's raw output
    assert math.isfinite(float(loss))
    with pytest.raises(fpsnr.ImageError, match="y holds values"):
        ft.FovealMSELoss(0.5)(_tensor(y), _tensor(x) * 2, regions)


def test_many_regions_cost_their_area_not_k_times_the_frame(rng):
    """G13: (K, H, W) float64 distances: 3,000 regions on 768×512 asked for 9.4 GB."""
    import resource

    x, y = _pair(rng, 1, 3, 512, 768)
    regions = [[Region((5 + (i * 7) % 758, 5 + (i * 13) % 502), 3.0) for i in range(3000)]]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    got = ft.foveal_scores(_tensor(x), _tensor(y), regions)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 500
    want = fpsnr.score(x[0], y[0], regions[0][:5] + regions[0][-5:], fp=0.0, data_range=1.0)
    for k, region in zip([0, 1, 2, 3, 4, 2995, 2996, 2997, 2998, 2999], want.regions, strict=True):
        assert float(got.region_psnrs[0, k]) == pytest.approx(region.fpsnr, abs=1e-9)


def test_disc_objects_are_checked_as_regions_are(rng):
    """G14: a Disc of radius −5 was scored as radius 5; one at 1e300 covered the frame."""
    from fpsnr.regions.model import Disc

    x, y = _pair(rng, 1, 3, 8, 8)
    for disc in (Disc(4.0, 4.0, -5.0, "negative"), Disc(1e300, 1e300, 1e300, "far")):
        with pytest.raises(fpsnr.RegionsError):
            ft.m_fpsnr(_tensor(x), _tensor(y), [[disc]], fp=0.0)


def test_a_run_that_is_training_cannot_be_resumed_by_a_second_process(tmp_path, rng):
    """Reliability 2026-12 G3: a second `train --resume` of a running run was accepted; the
    two interleaved log.csv (28 duplicated steps) and the first died. A held run lock is
    refused in one line; once it is free the resume goes through."""
    pytest.importorskip("compressai")
    from click.testing import CliRunner

    from fpsnr.cli import cli
    from fpsnr.runs.lock import OutputLock

    run = _one_step_run(tmp_path, rng)
    held = OutputLock(run)  # what the running process holds
    held.acquire()
    resume = ["codec", "train", "--resume", str(run), "--max-steps", "2"]
    try:
        again = CliRunner().invoke(cli, resume)
        assert again.exit_code == 1 and f"{run}: another fpsnr run (pid " in again.stderr
    finally:
        held.release()
    assert CliRunner().invoke(cli, resume).exit_code == 0
