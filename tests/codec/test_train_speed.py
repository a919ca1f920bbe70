"""The training speed options on the CPU: each gives the plain path's results (issue 15).

Bit-identical where the option does not change arithmetic (the batched crop gather, the
sync-free bottleneck, several runs in one process, ``--cuda-graphs`` off CUDA); within a
stated tolerance where it does (``--compile``: fused kernels reorder float sums;
``--amp bf16``: bfloat16 convolutions). Speed itself is measured on a GPU by
``benchmarks/bench_train.py --device cuda``, never here.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

import fpsnr.codec.training as training  # noqa: E402
from fpsnr.cli import cli  # noqa: E402
from fpsnr.codec.training import resume_configs, train, train_many  # noqa: E402
from fpsnr.codec.training.crops import CropSource  # noqa: E402
from fpsnr.codec.weights import load_weights  # noqa: E402
from fpsnr.errors import CodecError  # noqa: E402
from fpsnr.images.io import write_image  # noqa: E402
from tests.codec.test_train import _cfg as _train_cfg  # noqa: E402
from tests.codec.test_train import _log  # noqa: E402
from tests.conftest import write_photos  # noqa: E402


@pytest.fixture
def photos(tmp_path, rng):
    d = write_photos(tmp_path / "photos", rng, count=3, height=96, width=120)
    write_image(d / "tall.png", rng.integers(0, 256, (130, 70, 3), dtype=np.uint8))  # another size
    return d


def _cfg(photos, out, **kw):
    return _train_cfg(photos, out, **{"max_steps": 8, **kw})


def _numbers(run):
    return [(r["step"], r["loss"], r["bpp"], r["mse"], r["aux_loss"]) for r in _log(run)]


def _losses(run):
    return np.array([float(r["loss"]) for r in _log(run)])


def _kill_after(steps):
    def hook(step):
        if step >= steps:
            raise KeyboardInterrupt  # as a Ctrl-C would

    return hook


def _same_weights(a, b):
    wa, _ = load_weights(a / "last.safetensors")
    wb, _ = load_weights(b / "last.safetensors")
    sa, sb = wa.state_dict(), wb.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_one_gather_cuts_the_pixels_of_the_slices(photos):
    source = CropSource(str(photos), 64, "cpu")
    assert sorted({s for s in source.sizes}) == [(96, 120), (130, 70)]
    for seed in range(5):
        gathered = source.batch(8, torch.Generator().manual_seed(seed))
        source.gather = False
        sliced = source.batch(8, torch.Generator().manual_seed(seed))
        source.gather = True
        assert gathered.dtype == torch.float32 and torch.equal(gathered, sliced)
    # and against numpy, for one crop drawn by hand: image k, (y, x), mirrored
    k, y, x = 3, 17, 5
    img = torch.from_numpy(np.ascontiguousarray(source.images[k].numpy()))
    crop = source._gathered([(k, y, x, True)])[0]
    assert torch.equal(crop, img[:, y : y + 64, x : x + 64].flip(-1))


def test_several_runs_in_one_process_equal_each_run_alone(photos, tmp_path):
    group = [_cfg(photos, tmp_path / "group" / f"{lam:g}", lmbda=lam) for lam in (0.01, 0.05)]
    summaries = train_many(group, progress=False)
    assert [s["step"] for s in summaries] == [8, 8]
    for cfg in group:
        alone = dataclasses.replace(cfg, out=str(tmp_path / "alone" / f"{cfg.lmbda:g}"))
        train(alone, progress=False)
        together, alone = tmp_path / "group" / f"{cfg.lmbda:g}", tmp_path / "alone" / f"{cfg.lmbda:g}"
        assert _numbers(together) == _numbers(alone)
        assert _same_weights(together, alone)
    first, second = (_numbers(tmp_path / "group" / f"{lam:g}") for lam in (0.01, 0.05))
    assert first != second  # two λ, two runs: not one run written twice


def test_several_runs_share_every_setting_but_model_and_lambda(photos, tmp_path):
    a = _cfg(photos, tmp_path / "a")
    with pytest.raises(CodecError, match="differs in batch_size"):
        train_many([a, _cfg(photos, tmp_path / "b", batch_size=4)], progress=False)
    with pytest.raises(CodecError, match="share a run directory"):
        train_many([a, dataclasses.replace(a, lmbda=0.02)], progress=False)


def test_a_group_resumes_exactly_after_a_kill(runner, photos, tmp_path):
    base = ["codec", "train", "--data", str(photos), "--lmbda", "0.01,0.05", "--model",
            "bmshj2018-hyperprior,bmshj2018-hyperprior-attn", "--N", "16", "--M", "16", "--batch-size", "2",
            "--patch", "64", "--max-steps", "8", "--log-every", "2", "--checkpoint-every", "4"]  # fmt: skip
    whole = runner.invoke(cli, [*base, "--out", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output
    names = json.loads((tmp_path / "whole" / "runs.json").read_text())["runs"]
    assert names == ["bmshj2018-hyperprior-0.01", "bmshj2018-hyperprior-0.05",
                     "bmshj2018-hyperprior-attn-0.01", "bmshj2018-hyperprior-attn-0.05"]  # fmt: skip
    assert whole.stderr.count("done: ") == 4
    # the same group killed after step 6 (last checkpoints at 4), then resumed as one folder
    cut = tmp_path / "cut"
    kept = resume_configs(tmp_path / "whole")
    cfgs = [dataclasses.replace(c, out=str(cut / n)) for c, n in zip(kept, names, strict=True)]
    training.write_group(cut, cfgs)

    with pytest.raises(KeyboardInterrupt):
        train_many(cfgs, progress=False, on_step=_kill_after(6))
    again = runner.invoke(cli, ["codec", "train", "--resume", str(cut)])
    assert again.exit_code == 0, again.output
    for name in names:
        assert _numbers(cut / name) == _numbers(tmp_path / "whole" / name)
        assert _same_weights(cut / name, tmp_path / "whole" / name)
    refused = runner.invoke(cli, ["codec", "train", "--resume", str(cut), "--lmbda", "0.01"])
    assert refused.exit_code == 1 and "--lmbda 0.01 (the run has 0.01,0.05)" in refused.stderr
    more = runner.invoke(cli, ["codec", "train", "--resume", str(cut), "--max-steps", "10", "--compile"])
    assert more.exit_code == 0, more.output  # execution options may change on --resume
    assert json.loads((cut / names[0] / "config.json").read_text())["compile"] is True


def test_cuda_graphs_off_cuda_say_so_and_train_the_plain_way(photos, tmp_path):
    said = []
    train(_cfg(photos, tmp_path / "plain"), progress=False)
    train(_cfg(photos, tmp_path / "graphs", cuda_graphs=True), progress=False, on_warning=said.append)
    assert said == ["cuda_graphs: they need a CUDA device; training without them"]
    assert _numbers(tmp_path / "graphs") == _numbers(tmp_path / "plain")


TRACED = training.Tuning(compile_backend="aot_eager")
"""torch.compile's tracing (dynamo, AOT autograd) without code generation: seconds, not a minute."""


def test_compile_trains_like_the_plain_path_and_resumes_exactly(photos, tmp_path):
    train(_cfg(photos, tmp_path / "plain"), progress=False)
    said = []
    compiled = _cfg(photos, tmp_path / "compiled", compile=True)
    train(compiled, progress=False, on_warning=said.append, tuning=TRACED)
    assert said == []
    np.testing.assert_allclose(_losses(tmp_path / "compiled"), _losses(tmp_path / "plain"), rtol=1e-5)
    # killed after step 6 (checkpoint at 4) and resumed: the compiled run's own trajectory, exactly
    cut = _cfg(photos, tmp_path / "cut", compile=True)
    with pytest.raises(KeyboardInterrupt):
        train(cut, progress=False, on_step=_kill_after(6), tuning=TRACED)
    train(cut, resume=True, progress=False, tuning=TRACED)
    assert _numbers(tmp_path / "cut") == _numbers(tmp_path / "compiled")
    assert _same_weights(tmp_path / "cut", tmp_path / "compiled")
    wa, _ = load_weights(tmp_path / "compiled" / "last.safetensors")  # the plain weights format
    assert not any(k.startswith("_orig_mod") for k in wa.state_dict())


def test_compile_that_fails_warns_once_and_trains_the_plain_way(photos, tmp_path, monkeypatch):
    def broken(module, **_):
        def call(*args, **kwargs):
            raise RuntimeError("no C++ compiler found\nmore detail")

        return call

    monkeypatch.setattr(torch, "compile", broken)
    said = []
    train(_cfg(photos, tmp_path / "fallback", compile=True), progress=False, on_warning=said.append)
    train(_cfg(photos, tmp_path / "plain"), progress=False)
    assert said == ["compile unavailable here (RuntimeError: no C++ compiler found); training without it"]
    assert _numbers(tmp_path / "fallback") == _numbers(tmp_path / "plain")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cc") is None, reason="inductor needs a C compiler")
def test_compile_with_inductor_on_the_cpu(photos, tmp_path, monkeypatch):
    """The real backend (code generation): about 40 s on two cores when nothing is cached.

    Inductor draws the quantisation noise with its own generator unless ``fallback_random``
    (same distribution, other samples: 3e-4 apart after 4 steps); with the eager draws the
    generated kernels must give the plain losses.
    """
    from torch._inductor import config

    torch._dynamo.reset()  # nothing compiled by the tests before (another backend) is reused
    monkeypatch.setattr(config, "fallback_random", True)
    train(_cfg(photos, tmp_path / "plain", max_steps=4), progress=False)
    said = []
    train(_cfg(photos, tmp_path / "compiled", max_steps=4, compile=True), progress=False,
          on_warning=said.append)  # fmt: skip
    assert said == []
    np.testing.assert_allclose(_losses(tmp_path / "compiled"), _losses(tmp_path / "plain"), rtol=1e-5)


def test_amp_trains_to_the_plain_loss_within_tolerance(photos, tmp_path):
    train(_cfg(photos, tmp_path / "plain", max_steps=12), progress=False)
    train(_cfg(photos, tmp_path / "bf16", max_steps=12, amp="bf16"), progress=False)
    plain, bf16 = _losses(tmp_path / "plain"), _losses(tmp_path / "bf16")
    assert not np.array_equal(plain, bf16)  # it does change the arithmetic
    np.testing.assert_allclose(bf16, plain, rtol=1e-3)  # measured: 3.5e-5 (3e-4 with everything in bf16)
    with pytest.raises(CodecError, match="amp must be one of off, bf16"):
        train(_cfg(photos, tmp_path / "x", amp="fp8"), progress=False)


def test_progress_in_a_log_file_comes_every_log_every_steps(runner, photos, tmp_path):
    res = runner.invoke(cli, ["codec", "train", "--data", str(photos), "--lmbda", "0.01", "--N", "16", "--M",
                              "16", "--batch-size", "2", "--patch", "64", "--max-steps", "12", "--log-every",
                              "4", "--out", str(tmp_path / "run")])  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = [line for line in res.stderr.splitlines() if line.startswith("train ")]
    assert [line.split()[3] for line in lines] == ["4/12", "8/12", "12/12"]


def test_cuda_graphs_default_on_where_they_fit(runner, photos, tmp_path, monkeypatch):
    assert training.graphs_fit("cuda", "mse") and training.graphs_fit("cuda:1", "mse")
    assert not training.graphs_fit("cpu", "mse")
    assert not training.graphs_fit("cuda", "ms-ssim") and not training.graphs_fit("cuda", "foveal-mse")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert not training.graphs_fit("cuda", "mse")
    monkeypatch.delenv("WORLD_SIZE")
    base = ["codec", "train", "--data", str(photos), "--lmbda", "0.01", "--N", "16", "--M", "16",
            "--batch-size", "2", "--patch", "64", "--max-steps", "2"]  # fmt: skip
    quiet = runner.invoke(cli, [*base, "--out", str(tmp_path / "auto")])
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr
    assert json.loads((tmp_path / "auto" / "config.json").read_text())["cuda_graphs"] is False
    asked = runner.invoke(cli, [*base, "--out", str(tmp_path / "asked"), "--cuda-graphs"])
    assert asked.exit_code == 0
    assert "warning: --cuda-graphs: they need a CUDA device; training without them" in asked.stderr
