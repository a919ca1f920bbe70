"""fpsnr.codec.training.config: a run's settings, checked when made; no torch needed."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import fields

import pytest
from click.testing import CliRunner

from fpsnr.cli import cli
from fpsnr.codec.training.config import TrainConfig, Tuning, resume_config
from fpsnr.errors import CodecError

BASE = {"data": "photos", "model": "bmshj2018-hyperprior", "lmbda": 0.01, "out": "run", "max_steps": 5}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_steps": None}, r"give a budget: max_steps or max_minutes"),
        ({"distortion": "l1"}, r"distortion must be one of mse, ms-ssim, foveal-mse, got 'l1'"),
        ({"amp": "fp16"}, r"amp must be one of off, bf16, got 'fp16'"),
        ({"distortion": "ms-ssim", "patch": 160}, r"needs crops larger than 160 px .* use a patch of 192"),
    ],
)
def test_a_config_checks_itself_when_made(change, message):
    with pytest.raises(CodecError, match=message):
        TrainConfig(**{**BASE, **change})
    TrainConfig(**{**BASE, "distortion": "ms-ssim", "patch": 161})  # the boundary itself is fine


def test_the_command_shows_the_config_s_defaults_and_says_its_checks_with_flags(tmp_path):
    help_text = CliRunner().invoke(cli, ["codec", "train", "--help"]).output
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    shown = (("--batch-size", "batch_size"), ("--patch", "patch"), ("--lr", "lr"), ("--seed", "seed"),
             ("--checkpoint-every", "checkpoint_every"), ("--max-bad-steps", "max_bad_steps"))  # fmt: skip
    for flag, key in shown:
        after = help_text.split(flag, 1)[1].split("\n  --", 1)[0]
        assert f"default: {defaults[key]}" in " ".join(after.split()), flag
    res = CliRunner().invoke(cli, ["codec", "train", "--data", str(tmp_path), "--lmbda", "0.01",
                                   "--out", str(tmp_path / "r"), "--distortion", "ms-ssim", "--patch", "128",
                                   "--max-steps", "1"])  # fmt: skip
    if importlib.util.find_spec("compressai") is None:
        assert res.exit_code == 1 and "the codec needs the 'codec' extra" in res.stderr
    else:
        assert res.exit_code == 1 and "use a --patch of 192 or more" in res.stderr


def test_tuning_is_not_part_of_a_run_s_record():
    assert not {f.name for f in fields(Tuning)} & {f.name for f in fields(TrainConfig)}
    assert Tuning() == Tuning(gather_crops=True, cudnn_benchmark=True, compile_backend="inductor",
                              warmup_steps=3, sync_free=True)  # fmt: skip


def test_reading_the_config_imports_no_torch():
    code = "import sys, fpsnr.codec.training.config, fpsnr.cli.codec.train\nassert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch_size": 10_000_000}, r"batch_size × patch² = 10000000 × 256² is more than 67,108,864 pixels"),
        ({"n": 100_000, "m": 100_000}, r"n must be a whole number from 1 to 1024.*m must be"),
        ({"lmbda": "abc"}, r"lmbda must be a positive number"),
        ({"lmbda": float("nan")}, r"lmbda must be a positive number"),
        ({"patch": -5}, r"patch must be a whole number ≥ 64 and ≤ 4096"),
        ({"batch_size": True}, r"batch_size must be a whole number ≥ 1"),
        ({"fp": 1.5}, r"fp must be a number in \[0, 1\]"),
        ({"data": ["a"]}, r"data must be text"),
        ({"compile": "yes"}, r"compile must be true or false"),
    ],
)
def test_every_field_is_checked_for_its_type_and_range(change, message):
    """G20: a config with absurd values reached torch (40 GB allocations, the OOM killer)."""
    with pytest.raises(CodecError, match=f"^training settings: .*{message}"):
        TrainConfig(**{**BASE, **change})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"not a readable run configuration"),
        ('{"data": "photos", "mod', r"not a readable run configuration"),
        ("[1, 2]", r"not a run configuration \(a JSON object of settings\)"),
        (json.dumps({**BASE, "evil": 1}), r"unknown settings evil"),
        (json.dumps({k: v for k, v in BASE.items() if k != "data"}), r"missing settings data"),
        (json.dumps({**BASE, "lmbda": "abc"}), r"training settings: lmbda must be a positive number"),
        (json.dumps({**BASE, "patch": -5}), r"patch must be a whole number"),
        (json.dumps({**BASE, "n": 100000, "m": 100000}), r"n must be a whole number from 1 to 1024"),
        (json.dumps({**BASE, "batch_size": 10000000}), r"pixels a step"),
        ("\xff\xfe binary", r"not a readable run configuration"),
    ],
)
def test_a_damaged_or_edited_config_json_is_one_line_naming_it(tmp_path, text, message):
    """G20: each of these was an internal error (JSONDecodeError, TypeError, RuntimeError) or an OOM."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(text, encoding="utf-8", errors="surrogateescape")
    with pytest.raises(CodecError, match=f"^{run / 'config.json'}: .*{message}"):
        resume_config(run)
    res = CliRunner().invoke(cli, ["codec", "train", "--resume", str(run)])
    if importlib.util.find_spec("compressai") is not None:
        assert res.exit_code == 1 and "config.json" in res.stderr and "Traceback" not in res.output


@pytest.mark.timeout(60)
def test_a_pipe_in_place_of_a_run_s_records_is_refused_at_once(tmp_path):
    """G22: a FIFO at config.json or runs.json blocked the resume for ever."""
    import os

    from fpsnr.codec.training.config import resume_configs

    run = tmp_path / "run"
    run.mkdir()
    os.mkfifo(run / "config.json")
    with pytest.raises(CodecError, match=r"config.json: is a pipe \(FIFO\), expected a JSON file"):
        resume_config(run)
    group = tmp_path / "group"
    group.mkdir()
    os.mkfifo(group / "runs.json")
    with pytest.raises(CodecError, match=r"runs.json: is a pipe \(FIFO\), expected a list of runs"):
        resume_configs(group)
