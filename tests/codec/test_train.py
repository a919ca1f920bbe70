"""Training on the CPU with tiny models and a few dozen steps."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

import fpsnr.codec.training.step as step_module  # noqa: E402
from fpsnr.cli import cli  # noqa: E402
from fpsnr.codec.training import TrainConfig, train  # noqa: E402
from fpsnr.codec.training.distributed import init_distributed  # noqa: E402
from fpsnr.codec.weights import load_weights  # noqa: E402
from fpsnr.errors import CodecError  # noqa: E402
from fpsnr.images.io import write_image  # noqa: E402
from tests.conftest import write_photos  # noqa: E402


@pytest.fixture
def photos(tmp_path, rng):
    d = write_photos(tmp_path / "photos", rng, count=3, height=96, width=120)
    write_image(d / "tiny.png", np.zeros((20, 20, 3), np.uint8))  # smaller than a crop: skipped
    return d


def _cfg(photos, out, **kw):
    base = dict(data=str(photos), model="bmshj2018-hyperprior", lmbda=0.01, out=str(out), n=16, m=16,
                batch_size=2, patch=64, max_steps=12, log_every=2, checkpoint_every=4)  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def _log(run):
    with open(run / "log.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _crash_after(steps):
    """An on_step hook that raises KeyboardInterrupt after ``steps`` steps, as a Ctrl-C would."""

    def hook(step):
        if step >= steps:
            raise KeyboardInterrupt

    return hook


def test_resume_continues_exactly(photos, tmp_path):
    whole = train(_cfg(photos, tmp_path / "whole"), progress=False)
    assert whole["step"] == 12 and whole["skipped_images"] == 1
    cfg = _cfg(photos, tmp_path / "cut")
    with pytest.raises(KeyboardInterrupt):
        train(cfg, progress=False, on_step=_crash_after(6))  # killed after step 6; last checkpoint at 4
    assert [r["step"] for r in _log(tmp_path / "cut")] == ["2", "4", "6"]
    train(cfg, resume=True, progress=False)
    a, b = _log(tmp_path / "whole"), _log(tmp_path / "cut")
    assert [r["step"] for r in b] == [r["step"] for r in a]
    assert [(r["loss"], r["bpp"], r["mse"]) for r in b] == [(r["loss"], r["bpp"], r["mse"]) for r in a]
    wa, _ = load_weights(tmp_path / "whole" / "last.safetensors")
    wb, info = load_weights(tmp_path / "cut" / "last.safetensors")
    assert info.steps == 12 and torch.equal(wa.g_a[0].weight, wb.g_a[0].weight)


def test_a_checkpoint_cut_off_between_its_two_files_still_resumes_exactly(photos, tmp_path):
    """G2: a kill after state.pt (step 8) but before last.safetensors (still step 4)."""
    whole = tmp_path / "whole"
    train(_cfg(photos, whole), progress=False)
    cfg = _cfg(photos, tmp_path / "cut")
    weights = tmp_path / "cut" / "last.safetensors"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, progress=False, on_step=_crash_after(6))  # checkpoint at 4
    at_four = weights.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        train(cfg, resume=True, progress=False, on_step=_crash_after(10))  # checkpoint at 8
    weights.write_bytes(at_four)  # the weights of that checkpoint never landed
    train(cfg, resume=True, progress=False)
    a, b = _log(whole), _log(tmp_path / "cut")
    assert [(r["step"], r["loss"], r["bpp"]) for r in b] == [(r["step"], r["loss"], r["bpp"]) for r in a]
    wa, _ = load_weights(whole / "last.safetensors")
    wb, info = load_weights(weights)
    assert info.steps == 12 and torch.equal(wa.g_a[0].weight, wb.g_a[0].weight)


def test_an_old_checkpoint_whose_two_files_disagree_is_refused(photos, tmp_path):
    """Runs from before state.pt held the weights: the step recorded in both files must agree."""
    cfg = _cfg(photos, tmp_path / "run", max_steps=4, checkpoint_every=2)
    train(cfg, progress=False)
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=True)
    del state["model"]
    state["step"] = 2
    torch.save(state, tmp_path / "run" / "state.pt")
    cut = r"last.safetensors is at step 4, .*state.pt at step 2: the checkpoint was cut off"
    with pytest.raises(CodecError, match=cut):
        train(dataclasses.replace(cfg, max_steps=6), resume=True, progress=False)


def _fifo(path: pathlib.Path) -> None:
    path.unlink()
    os.mkfifo(path)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda run: (run / "state.pt").write_bytes(b""), r"state.pt: damaged \(not a torch checkpoint\)"),
        (lambda run: (run / "state.pt").write_bytes((run / "state.pt").read_bytes()[:5000]),
         r"state.pt: damaged"),
        (lambda run: (run / "state.pt").write_bytes(os.urandom(4096)), r"state.pt: damaged"),
        (lambda run: torch.save({"step": 2}, run / "state.pt"), r"state.pt: not a training state"),
        (lambda run: torch.save({"x": pathlib.PurePosixPath("x")}, run / "state.pt"),
         r"state.pt: holds objects a training state never does; refused"),
        (lambda run: (run / "log.csv").write_text("step,loss\nabc,def\n"), r"log.csv: not a training log"),
        (lambda run: (run / "log.csv").write_bytes(b"step\n\xff\xfe\x00\n"), r"log.csv: not a training log"),
        # G22: a FIFO in a file's place blocked the resume for ever
        (lambda run: _fifo(run / "state.pt"), r"state.pt: is a pipe \(FIFO\), expected a training"),
        (lambda run: _fifo(run / "log.csv"), r"log.csv: is a pipe \(FIFO\), expected a training log"),
    ],
)
@pytest.mark.timeout(120)
def test_a_damaged_run_folder_is_one_line_naming_the_file(photos, tmp_path, damage, message):
    """G20: each was an internal error (EOFError, zip reader, UnpicklingError with unsafe advice, int())."""
    cfg = _cfg(photos, tmp_path / "run", max_steps=2, checkpoint_every=2)
    train(cfg, progress=False)
    damage(tmp_path / "run")
    with pytest.raises(CodecError, match=message) as caught:
        train(dataclasses.replace(cfg, max_steps=4), resume=True, progress=False)
    assert "weights_only" not in str(caught.value) and "\n" not in str(caught.value)


def test_absurd_channel_counts_and_batches_are_refused_before_torch_allocates(runner, photos, tmp_path):
    """G20: --N 60000 --M 60000 asked torch for 14.4 GB; the batch size had no bound."""
    for extra, said in ((["--N", "60000", "--M", "60000"], "n must be a whole number from 1 to 1024"),
                        (["--batch-size", "10000000"], "pixels a step")):  # fmt: skip
        res = runner.invoke(cli, ["codec", "train", "--data", str(photos), "--lmbda", "0.01", "--out",
                                  str(tmp_path / "r"), "--max-steps", "1", *extra])  # fmt: skip
        assert res.exit_code == 1 and said in res.stderr and "internal error" not in res.stderr
        assert not (tmp_path / "r").exists()


def test_resuming_a_run_recorded_on_a_gpu_this_machine_lacks_says_to_give_a_device(runner, photos, tmp_path):
    """G20: config.json's device reached torch unchecked ("Found no NVIDIA driver")."""
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    run = tmp_path / "run"
    train(_cfg(photos, run, max_steps=2), progress=False)
    recorded = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**recorded, "device": "cuda"}))
    res = runner.invoke(cli, ["codec", "train", "--resume", str(run), "--max-steps", "3"])
    assert res.exit_code == 1 and "no usable CUDA GPU; use cpu" in res.stderr
    res = runner.invoke(cli, ["codec", "train", "--resume", str(run), "--max-steps", "3", "--device", "cpu"])
    assert res.exit_code == 0, res.output


def test_run_directory_rules(photos, tmp_path):
    cfg = _cfg(photos, tmp_path / "run", max_steps=2)
    train(cfg, progress=False)
    with pytest.raises(CodecError, match="already holds a run"):
        train(cfg, progress=False)
    with pytest.raises(CodecError, match="nothing to resume"):
        train(dataclasses.replace(cfg, out=str(tmp_path / "empty")), resume=True, progress=False)
    with pytest.raises(CodecError, match="give a budget"):
        train(dataclasses.replace(cfg, max_steps=None, out=str(tmp_path / "x")), progress=False)


def test_attention_warm_starts_from_a_baseline(photos, tmp_path):
    train(_cfg(photos, tmp_path / "base", max_steps=2), progress=False)
    cfg = _cfg(photos, tmp_path / "attn", model="bmshj2018-hyperprior-attn", max_steps=1,
               init=str(tmp_path / "base" / "last.safetensors"), lr=0.0)  # fmt: skip
    train(cfg, progress=False)
    base, _ = load_weights(tmp_path / "base" / "last.safetensors")
    attn, info = load_weights(tmp_path / "attn" / "last.safetensors")
    assert info.arch == "bmshj2018-hyperprior-attn"
    assert torch.equal(base.g_s[6].weight, attn.g_s[6].weight)  # lr 0: the warm start itself


def test_non_finite_losses_are_skipped_then_stop_the_run(photos, tmp_path, monkeypatch):
    real = step_module.rd_loss
    calls = {"n": 0}

    def flaky(out, x, lmbda, distortion, *rest):
        calls["n"] += 1
        parts = real(out, x, lmbda, distortion, *rest)
        if calls["n"] == 3 or calls["n"] > 6:
            parts["loss"] = parts["loss"] * float("nan")
        return parts

    monkeypatch.setattr(step_module, "rd_loss", flaky)
    cfg = _cfg(photos, tmp_path / "run", max_steps=50, checkpoint_every=2, max_bad_steps=4)
    with pytest.raises(CodecError, match="4 non-finite losses in a row at step 5; stopped"):
        train(cfg, progress=False)
    _, info = load_weights(tmp_path / "run" / "last.safetensors")
    assert info.steps == 4  # the last good checkpoint is intact
    assert _log(tmp_path / "run")[-1]["skipped"] == "1"
    calls["n"] = 6  # G29: from the first step on, there is no checkpoint to point to
    fresh = dataclasses.replace(cfg, out=str(tmp_path / "fresh"))
    with pytest.raises(CodecError, match=r"stopped\. No checkpoint was written yet; lower the learning rate"):
        train(fresh, progress=False)


def test_cli_train_then_roundtrip(runner, photos, tmp_path):
    run = tmp_path / "run"
    res = runner.invoke(cli, ["codec", "train", "--data", str(photos), "--lmbda", "0.01", "--out", str(run),
                              "--N", "16", "--M", "16", "--batch-size", "2", "--patch", "64",
                              "--max-steps", "4", "--log-every", "2", "--val", str(photos)])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = _log(run)
    assert rows[-1]["val_psnr"] != "" and float(rows[-1]["steps_per_s"]) > 0
    rt = runner.invoke(
        cli, ["codec", "roundtrip", str(photos / "0.png"), "--weights", str(run / "last.safetensors")]
    )
    assert rt.exit_code == 0, rt.output
    usage = runner.invoke(cli, ["codec", "train", "--data", str(photos)])
    assert usage.exit_code == 2 and "needs --lmbda, --out" in usage.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("device", "backend", "current"),
    [("cpu", "gloo", None), ("cuda", "nccl", 1), ("cuda:0", "nccl", None)],
)
def test_under_torchrun_the_backend_follows_the_device_and_cuda_is_the_local_gpu(
    monkeypatch, device, backend, current
):
    """No GPU needed: the process group and the CUDA calls are recorded, not made."""
    import torch.distributed as dist

    said: dict[str, object] = {}
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", lambda backend: said.update(backend=backend))
    monkeypatch.setattr(dist, "get_rank", lambda: 1)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU machine, also for --device cpu
    monkeypatch.setattr(torch.cuda, "set_device", lambda index: said.update(current=index))
    assert init_distributed(device) == (1, 2)
    assert said == {"backend": backend, **({"current": current} if current is not None else {})}


def test_torchrun_with_two_gloo_processes(photos, tmp_path):
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "fpsnr", "codec", "train", "--data", str(photos), "--lmbda", "0.01", "--out", str(run),
           "--model", "bmshj2018-hyperprior-attn", "--N", "16", "--M", "16", "--batch-size", "2",
           "--patch", "64", "--max-steps", "4", "--log-every", "2"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"} | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    # newcomer finding 26: rank 0 alone reports, and no DDP warning on every rank
    lines = (done.stdout + done.stderr).splitlines()
    assert sum(line.startswith("done:") for line in lines) == 1
    assert [line for line in lines if "warning" in line.lower()] == []
    assert [r["step"] for r in _log(run)] == ["2", "4"]
    _, info = load_weights(run / "last.safetensors")
    assert info.steps == 4
