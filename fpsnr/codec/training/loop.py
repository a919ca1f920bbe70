"""The training loop: runs stepped on shared crop batches, logged, validated, checkpointed.

:func:`train` trains one run, :func:`train_many` several (models × λ) in one process,
every step on the same crop batch, each run with its own optimizers, directory and log.
On the CPU each run also keeps its own noise random-number stream, so every run equals
the run trained alone, bit for bit; on CUDA the runs share the device's stream. The
learning rate is divided by 10 at 90 % of ``max_steps``; ``resume`` continues exactly
(for a fixed seed the loss trajectory after a resume equals the uninterrupted run's).

Throughput options (:class:`~fpsnr.codec.training.config.TrainConfig`):

- ``compile``: ``torch.compile`` of the network (forward and backward); where it
  cannot compile, one warning and the plain network.
- ``cuda_graphs``: after the eager warm-up steps the whole step is captured in two
  CUDA graphs (forward + backward; clipping, both Adam steps and the aux loss) and
  replayed; between them the host reads one flag, so a non-finite loss still skips the
  step. The second graph is captured again when the learning rate drops. CUDA only,
  not with ``foveal-mse`` (its regions change every batch), ``ms-ssim`` or under torchrun.
- ``amp="bf16"``: autocast of the convolutions to bfloat16, while GDN's normalisation,
  the channel attention, the layers producing y, z, the scales and x̂, the entropy
  models (likelihoods), the rate term and the distortion stay in float32.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from fpsnr.codec.training.config import TrainConfig, Tuning, check_group, progress_title
from fpsnr.codec.training.crops import CropSource, crop_discs
from fpsnr.codec.training.distributed import init_distributed
from fpsnr.codec.training.step import Trainer, rd_loss
from fpsnr.errors import REMEDIES, CodecError, say
from fpsnr.regions.regionfile import load_region_index
from fpsnr.runs.progress import ProgressCallback, reporting

__all__ = ["train", "train_many"]

DEFAULT_TUNING = Tuning()


def _validate(model: Any, images: list[torch.Tensor], cfg: TrainConfig,
              regions: list[Any] | None = None) -> dict[str, float]:  # fmt: skip
    """Loss, bpp and PSNR of the forward pass over the validation images.

    With ``regions`` (one (K, 3) table per image) also mean F_PSNR and M-FPSNR of the
    decoded forward pass, from :mod:`fpsnr.torch` (dB averaged per image).
    """
    from fpsnr.torch import FovealMetric

    model.eval()
    losses, bpps, psnrs = [], [], []
    foveal = FovealMetric(fp=cfg.fp) if regions is not None else None
    with torch.no_grad():
        for n, img in enumerate(images):
            x = img[None].to(torch.float32) / 255.0
            h, w = x.shape[-2:]
            x = x[..., : h - h % 64, : w - w % 64]
            out = model(x)
            parts = rd_loss(out, x, cfg.lmbda, "mse" if cfg.distortion == "foveal-mse" else cfg.distortion)
            losses.append(float(parts["loss"]))
            bpps.append(float(parts["bpp"]))
            x_hat = out["x_hat"].clamp(0, 1)
            mse = float(F.mse_loss(x_hat, x))
            psnrs.append(10 * math.log10(1 / mse) if mse > 0 else math.inf)
            if foveal is not None and regions is not None:
                # the frame cut to a multiple of 64 is the crop at (0, 0) of that size
                foveal.update(x_hat.double(), x.double(), [crop_discs(regions[n], 0, 0, *x.shape[-2:])])
    model.train()
    row = {
        "val_loss": float(np.mean(losses)),
        "val_bpp": float(np.mean(bpps)),
        "val_psnr": float(np.mean(psnrs)),
    }
    if foveal is not None:
        means = foveal.compute()
        row.update(val_mean_fpsnr=means["mean_fpsnr"], val_m_fpsnr=means["m_fpsnr"])
    return row


def train(
    cfg: TrainConfig,
    *,
    resume: bool = False,
    progress: ProgressCallback | bool | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> dict[str, Any]:
    """Train (or resume) a run; return a summary of the last logged step.

    ``progress(step, max_steps)`` is called at the start and after every step (``True``
    draws a tqdm bar); ``on_log(row)`` with every row written to ``log.csv``;
    ``on_step(step)`` after every step — an exception it raises stops the run the way
    a crash would (no final checkpoint), which is how the tests simulate a kill;
    ``on_warning(message)`` with each option that could not be honoured (default:
    :func:`warnings.warn`).
    """
    return train_many([cfg], resume=resume, progress=progress, on_log=on_log, on_step=on_step,
                      on_warning=on_warning, tuning=tuning)[0]  # fmt: skip


def train_many(
    cfgs: Sequence[TrainConfig],
    *,
    resume: bool = False,
    progress: ProgressCallback | bool | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    tuning: Tuning = DEFAULT_TUNING,
    words: Mapping[str, str] = REMEDIES,
) -> list[dict[str, Any]]:
    """Train (or resume) several runs in one process, all on the same crop batches.

    The runs may differ only in model, λ, ``out`` and ``init`` (:data:`PER_RUN_FIELDS`). Each has
    its own optimizers, directory, checkpoints and log, and can later be resumed alone.
    ``on_log`` rows carry the run's directory as ``"run"``; ``progress`` and ``on_step``
    see the largest step of the runs; ``tuning`` sets how fast (:class:`Tuning`); warnings
    name their remedies as ``words`` says (the command line passes its flags). Returns one
    summary per run, as :func:`train`.
    """
    check_group(cfgs)
    cfg = cfgs[0]
    said: set[str] = set()

    def warn(message: str) -> None:  # each message once, however many runs it concerns
        if message in said:
            return
        said.add(message)
        if on_warning is not None:
            on_warning(say(message, words))
        else:
            warnings.warn(say(message, words), stacklevel=3)

    rank, world = init_distributed(cfg.device)
    with _run_locks(cfgs if rank == 0 else []):  # one writer per run folder (reliability G3)
        return _train_many(cfgs, rank, world, warn, resume=resume, progress=progress, on_log=on_log,
                           on_step=on_step, tuning=tuning)  # fmt: skip


@contextlib.contextmanager
def _run_locks(cfgs: Sequence[TrainConfig]) -> Iterator[None]:
    """Hold ``<out>.lock`` of every run while it trains.

    A second ``train --resume`` of a running run is refused in one line, instead of two
    writers interleaving its log and checkpoints (the lock is the one batch outputs
    take; the kernel drops it if the run dies).
    """
    from fpsnr.runs.lock import OutputLock

    locks = []
    try:
        for c in cfgs:
            Path(c.out).mkdir(parents=True, exist_ok=True)
            lock = OutputLock(Path(c.out))
            lock.acquire()
            locks.append(lock)
        yield
    finally:
        for lock in locks:
            lock.release()


def _train_many(
    cfgs: Sequence[TrainConfig], rank: int, world: int, warn: Callable[[str], None], *, resume: bool,
    progress: ProgressCallback | bool | None, on_log: Callable[[dict[str, Any]], None] | None,
    on_step: Callable[[int], None] | None, tuning: Tuning,
) -> list[dict[str, Any]]:  # fmt: skip
    cfg = cfgs[0]
    if cfg.device.startswith("cuda") and tuning.cudnn_benchmark:
        torch.backends.cudnn.benchmark = True  # fixed crop size: pick the fastest convolutions once
    trainers = [Trainer(c, rank=rank, world=world, resume=resume, warn=warn, tuning=tuning) for c in cfgs]
    several = len(trainers) > 1
    generator = torch.Generator().manual_seed(cfg.seed + 1000 * rank)
    if trainers[0].crop_rng is not None:
        generator.set_state(trainers[0].crop_rng)
    train_regions: Any = None
    if cfg.distortion == "foveal-mse":
        train_regions = load_region_index(cfg.train_regions) if cfg.train_regions else "suggest"
    crops = CropSource(cfg.data, cfg.patch, cfg.device, regions=train_regions, gather=tuning.gather_crops)
    val = None
    if cfg.val:
        val_index = load_region_index(cfg.val_regions) if cfg.val_regions else None
        val = CropSource(cfg.val, 64, cfg.device, regions=val_index)
    val_images = val.images if val is not None else []
    val_discs = val.discs if val is not None and cfg.val_regions else None
    if rank == 0:
        for t in trainers:
            t.run.start_log(t.cfg, resume=resume, step=t.step)
    started = time.perf_counter()
    for t in trainers:
        t.started, t.window = started, (started, 0)
    with reporting(progress if rank == 0 else None, progress_title(cfgs), "step") as report:
        if report is not None:
            report(max(t.step for t in trainers), cfg.max_steps)
        while True:
            active = [t for t in trainers if not t.done()]
            if not active:
                break
            x, regions = crops.batch_with_regions(cfg.batch_size, generator)
            moved = False
            for t in active:
                if several:  # each run its own noise stream: equal to the run trained alone
                    torch.set_rng_state(t.noise_rng)
                moved |= _advance(t, x, regions, generator, val_images, val_discs, on_log)
                if several:
                    t.noise_rng = torch.get_rng_state()
            if not moved:
                continue
            step = max(t.step for t in trainers)
            if report is not None:
                report(step, cfg.max_steps)
            if on_step is not None:
                on_step(step)
    summaries = []
    for t in trainers:
        if several:
            torch.set_rng_state(t.noise_rng)
        t.save(generator.get_state())
        t.model.update(force=True)
        summaries.append({**t.last, "step": t.step, "skipped": t.skipped, "images": len(crops.images),
                          "skipped_images": crops.skipped})  # fmt: skip
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return summaries


def _advance(
    t: Trainer, x: torch.Tensor, regions: Any, generator: torch.Generator, val_images: list[torch.Tensor],
    val_discs: list[Any] | None, on_log: Callable[[dict[str, Any]], None] | None,
) -> bool:  # fmt: skip
    """One step of one run, with its log row and checkpoint; False if the step was skipped."""
    cfg = t.cfg
    done = t.optimise(x, regions)
    if done is None:
        t.skipped += 1
        t.bad_in_a_row += 1
        if t.bad_in_a_row >= cfg.max_bad_steps:
            kept = (
                f"The last good checkpoint is {t.run.weights}" if t.run.weights.exists()
                else "No checkpoint was written yet"
            )  # fmt: skip
            raise CodecError(
                f"{t.bad_in_a_row} non-finite losses in a row at step {t.step}; stopped. {kept}; "
                "lower the learning rate or check the data"
            )
        return False
    parts, aux_loss = done
    t.bad_in_a_row = 0
    t.step += 1
    window_start, window_steps = t.window
    window_steps += 1
    t.window = (window_start, window_steps)
    if t.rank == 0 and (t.step % cfg.log_every == 0 or t.step == cfg.max_steps):
        now = time.perf_counter()
        rate = window_steps / max(now - window_start, 1e-9)
        t.last = _log_row(parts, aux_loss, step=t.step, seconds=t.elapsed(), lr=t.lr_now(),
                          steps_per_s=rate, skipped=t.skipped)  # fmt: skip
        if val_images and (t.step % cfg.val_every == 0 or t.step == cfg.max_steps):
            t.last.update(_validate(t.model, val_images, cfg, val_discs))
        t.run.append_log(t.last)
        t.window = (now, 0)
        if on_log is not None:
            on_log({**t.last, "run": cfg.out})
    if t.step % cfg.checkpoint_every == 0:
        t.save(generator.get_state())
    return True


def _log_row(
    parts: dict[str, Any], aux_loss: torch.Tensor, *, step: int, seconds: float, lr: float,
    steps_per_s: float, skipped: int,
) -> dict[str, Any]:  # fmt: skip
    mse = float(parts["mse"].detach())
    return {
        "step": step,
        "seconds": round(seconds, 3),
        "loss": float(parts["loss"].detach()),
        "bpp": float(parts["bpp"].detach()),
        "mse": mse,
        "psnr": 10 * math.log10(1 / mse) if mse > 0 else math.inf,
        "aux_loss": float(aux_loss.detach()),
        "lr": lr,
        "steps_per_s": steps_per_s,
        "skipped": skipped,
    }
