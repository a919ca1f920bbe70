"""One optimisation step: the rate–distortion loss, eager, compiled or replayed from CUDA graphs.

L = λ·D + R, R the bits per pixel from the likelihoods of ŷ and ẑ, D = 255²·MSE or
1 − MS-SSIM (SPEC §4). Adam on the network, a separate Adam on the entropy bottleneck's
quantiles (CompressAI's aux loss), gradient clipping; a non-finite loss skips the step.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from fpsnr.codec._compressai import keep_float32_islands, without_host_syncs
from fpsnr.codec.layers import ChannelAttention
from fpsnr.codec.models import get_spec
from fpsnr.codec.training.checkpoint import (
    RunFiles,
    read_state,
    restore_state,
    save_state_atomic,
    starting_model,
)
from fpsnr.codec.training.config import TrainConfig, Tuning
from fpsnr.codec.training.distributed import average_aux_gradients, wrap_distributed
from fpsnr.codec.weights import save_weights

__all__ = ["Trainer", "graphs_fit", "rd_loss"]


def rd_loss(
    out: dict[str, Any], x: torch.Tensor, lmbda: float, distortion: str, regions: Any = None, fp: float = 0.5
) -> dict[str, Any]:
    n, _, h, w = x.shape
    pixels = n * h * w
    bpp = sum(torch.log(lik).sum() for lik in out["likelihoods"].values()) / (-math.log(2) * pixels)
    mse = F.mse_loss(out["x_hat"], x)
    if distortion == "mse":
        dist = 255**2 * mse
    elif distortion == "foveal-mse":
        from fpsnr.torch import FovealMSELoss

        dist = 255**2 * FovealMSELoss(fp)(out["x_hat"], x, regions)  # on the MSE scale, like "mse"
    else:
        from pytorch_msssim import ms_ssim

        dist = 1 - ms_ssim(out["x_hat"].clamp(0, 1), x, data_range=1.0)
    return {"loss": lmbda * dist + bpp, "bpp": bpp, "mse": mse}


def split_parameters(model: torch.nn.Module) -> tuple[list[torch.nn.Parameter], list[torch.nn.Parameter]]:
    main = [p for n, p in model.named_parameters() if not n.endswith(".quantiles") and p.requires_grad]
    aux = [p for n, p in model.named_parameters() if n.endswith(".quantiles") and p.requires_grad]
    return main, aux


class Trainer:
    """One run of a training process: its model, optimizers, files, step count and step function."""

    def __init__(self, cfg: TrainConfig, *, rank: int, world: int, resume: bool,
                 warn: Callable[[str], None], tuning: Tuning) -> None:  # fmt: skip
        self.cfg = cfg
        self.tuning = tuning
        self.spec = get_spec(cfg.model)
        self.rank, self.world = rank, world
        self.run = RunFiles(cfg)
        if rank == 0:
            self.run.claim(resume=resume)
        torch.manual_seed(cfg.seed + rank)
        state = read_state(self.run, cfg.device) if resume else None
        self.model: Any = starting_model(cfg, self.run, state=state)
        if tuning.sync_free:
            without_host_syncs(self.model)
        device_type = torch.device(cfg.device).type
        self.amp = device_type if cfg.amp == "bf16" else None
        if self.amp is not None:
            keep_float32_islands(self.model, device_type, also=(ChannelAttention,))
        self.net = wrap_distributed(self.model, world)
        self.params = split_parameters(self.model)
        graphs = cfg.cuda_graphs and self._graphs_possible(device_type, warn)
        self.optimizers = (
            torch.optim.Adam(self.params[0], lr=cfg.lr, capturable=graphs),
            torch.optim.Adam(self.params[1], lr=cfg.aux_lr, capturable=graphs),
        )
        self.step, self.seconds_before = 0, 0.0
        self.crop_rng: torch.Tensor | None = None
        if state is not None:
            self.step, self.seconds_before, self.crop_rng, noise_rng = restore_state(
                state, *self.optimizers, rank, self.run.state
            )
            torch.set_rng_state(noise_rng)
            if rank == 0 and self.run.weights_step() != self.step:  # cut off after state.pt
                self.save_weights()
        self.noise_rng = torch.get_rng_state()
        self.forward: Any = self.net
        self.compiling = False
        if cfg.compile:
            self.forward = torch.compile(self.net, backend=tuning.compile_backend)
            self.compiling = True
        self.graph = GraphStep(self) if graphs else None
        self.warn = warn
        self.skipped = self.bad_in_a_row = 0
        self.started = time.perf_counter()
        self.window = (self.started, 0)
        self.last: dict[str, Any] = {}
        self.decay_at = int(0.9 * cfg.max_steps) if cfg.max_steps else None

    def _graphs_possible(self, device_type: str, warn: Callable[[str], None]) -> bool:
        why = None
        if device_type != "cuda":
            why = "they need a CUDA device"
        elif self.cfg.distortion == "foveal-mse":
            why = "foveal-mse's regions change with every batch"
        elif self.cfg.distortion == "ms-ssim":
            why = "pytorch_msssim copies its window to the device at every call"
        elif self.world > 1:
            why = "not under torchrun"
        if why is not None:
            warn(f"{{cuda_graphs}}: {why}; training without them")
        return why is None

    def elapsed(self) -> float:
        return self.seconds_before + time.perf_counter() - self.started

    def done(self) -> bool:
        cfg = self.cfg
        if cfg.max_steps is not None and self.step >= cfg.max_steps:
            return True
        return cfg.max_minutes is not None and self.elapsed() >= 60 * cfg.max_minutes

    def lr_now(self) -> float:
        return self.cfg.lr * (0.1 if self.decay_at is not None and self.step >= self.decay_at else 1.0)

    def optimise(self, x: torch.Tensor, regions: Any) -> tuple[dict[str, Any], torch.Tensor] | None:
        """One step on the batch; ``None`` (nothing changed) if the loss is not finite."""
        for group in self.optimizers[0].param_groups:
            group["lr"] = self.lr_now()
        if self.graph is not None:
            return self.graph(x)
        return self.optimise_eagerly(x, regions)

    def optimise_eagerly(self, x: torch.Tensor, regions: Any) -> tuple[dict[str, Any], torch.Tensor] | None:
        if not self.compiling:
            return optimise(self.forward, self.model, x, self.cfg, self.optimizers, self.params, self.world,
                             regions=regions, amp=self.amp)  # fmt: skip
        try:  # the first call compiles (forward now, backward at its first call): no optimizer step yet
            done = optimise(self.forward, self.model, x, self.cfg, self.optimizers, self.params, self.world,
                             regions=regions, amp=self.amp)  # fmt: skip
        except Exception as err:  # any compiler failure: fall back, say why
            first = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
            self.warn(f"{{compile}} unavailable here ({type(err).__name__}: {first}); training without it")
            self.forward = self.net
            self.compiling = False
            return self.optimise_eagerly(x, regions)
        self.compiling = False
        return done

    def save(self, crop_rng: torch.Tensor) -> None:
        """The checkpoint: ``state.pt`` (weights included) first, then ``last.safetensors``."""
        if self.rank != 0:
            return
        optimizer, aux_optimizer = self.optimizers
        save_state_atomic(
            {
                "step": self.step,
                "seconds": self.elapsed(),
                "model": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
                "optimizer": optimizer.state_dict(),
                "aux_optimizer": aux_optimizer.state_dict(),
                "generator": [crop_rng],
                "torch_rng": torch.get_rng_state(),
            },
            self.run.state,
        )
        self.save_weights()

    def save_weights(self) -> None:
        cfg = self.cfg
        save_weights(self.model, self.run.weights, arch=self.spec.name, lmbda=cfg.lmbda,
                     distortion=cfg.distortion, steps=self.step, data=str(cfg.data),
                     extra={"seed": cfg.seed, "init": cfg.init or "random", **cfg.extra})  # fmt: skip


class GraphStep:
    """The training step as two CUDA graphs, captured after the eager warm-up steps.

    Graph 1: forward, loss, backward and a finite-loss flag; graph 2: clipping, the Adam
    step, the aux loss, its backward and the aux Adam step. Gradients live in graph 1's
    memory (they are None when it is captured), so every replay writes them afresh.
    """

    def __init__(self, trainer: Trainer) -> None:
        self.t = trainer
        self.eager = 0
        self.x: torch.Tensor | None = None
        self.g1: Any = None
        self.g2: Any = None
        self.lr: float | None = None
        self.out: tuple[dict[str, Any], torch.Tensor] | None = None
        self.aux_loss: torch.Tensor | None = None

    def __call__(self, x: torch.Tensor) -> tuple[dict[str, Any], torch.Tensor] | None:
        t = self.t
        if self.eager < self.t.tuning.warmup_steps:  # on a side stream, as CUDA graph capture asks
            self.eager += 1
            side = torch.cuda.Stream()  # type: ignore[no-untyped-call]
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                done = t.optimise_eagerly(x, None)
            torch.cuda.current_stream().wait_stream(side)
            return done
        try:
            if self.g1 is None:
                self._capture_forward_backward(x)
            if self.lr != t.lr_now():
                self._capture_update()
        except Exception as err:  # anything capture refuses: fall back, say why
            first = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
            t.warn(f"{{cuda_graphs}}: capture failed ({type(err).__name__}: {first}); training without them")
            t.graph = None
            for p in (*t.params[0], *t.params[1]):
                p.grad = None
            return t.optimise_eagerly(x, None)
        assert self.x is not None and self.out is not None and self.aux_loss is not None
        self.x.copy_(x)
        self.g1.replay()
        parts, finite = self.out
        if not bool(finite):
            return None
        self.g2.replay()
        return parts, self.aux_loss

    def _capture_forward_backward(self, x: torch.Tensor) -> None:
        t = self.t
        self.x = x.clone()
        for p in t.params[0]:
            p.grad = None
        self.g1 = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.g1):
            parts = rd_loss(forward_amp(t.forward, self.x, t.amp), self.x, t.cfg.lmbda, t.cfg.distortion)
            parts["loss"].backward()
            finite = torch.isfinite(parts["loss"])
        self.out = (parts, finite)

    def _capture_update(self) -> None:
        t = self.t
        optimizer, aux_optimizer = t.optimizers
        for p in t.params[1]:
            p.grad = None
        self.g2 = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.g2):
            if t.cfg.clip > 0:
                torch.nn.utils.clip_grad_norm_(t.params[0], t.cfg.clip)
            optimizer.step()
            self.aux_loss = t.model.aux_loss()
            self.aux_loss.backward()
            aux_optimizer.step()
        self.lr = t.lr_now()


def forward_amp(forward: Any, x: torch.Tensor, amp: str | None) -> Any:
    if amp is None:
        return forward(x)
    # no cast cache: a CUDA graph must recompute the bf16 weights at every replay
    with torch.autocast(amp, dtype=torch.bfloat16, cache_enabled=False):
        return forward(x)


def graphs_fit(device: str, distortion: str) -> bool:
    """Whether CUDA graphs can run this training: the default of ``--cuda-graphs``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return torch.device(device).type == "cuda" and distortion == "mse" and world <= 1


def optimise(
    net: Any, model: Any, x: torch.Tensor, cfg: TrainConfig, optimizers: tuple[Any, Any],
    params: tuple[list[torch.nn.Parameter], list[torch.nn.Parameter]], world: int, regions: Any = None,
    amp: str | None = None,
) -> tuple[dict[str, Any], torch.Tensor] | None:  # fmt: skip
    """One step of both optimizers on a batch; ``None`` (nothing changed) if the loss is not finite."""
    optimizer, aux_optimizer = optimizers
    main_params, aux_params = params
    optimizer.zero_grad(set_to_none=True)
    aux_optimizer.zero_grad(set_to_none=True)
    parts = rd_loss(forward_amp(net, x, amp), x, cfg.lmbda, cfg.distortion, regions, cfg.fp)
    if not torch.isfinite(parts["loss"]):
        return None
    parts["loss"].backward()
    if cfg.clip > 0:
        torch.nn.utils.clip_grad_norm_(main_params, cfg.clip)
    optimizer.step()
    aux_loss = model.aux_loss()
    aux_loss.backward()
    average_aux_gradients(aux_params, world)
    aux_optimizer.step()
    return parts, aux_loss
