"""Training the codec: rate–distortion loss, in-memory crops, exact resume, DDP.

Data: every image under ``--data`` is decoded once and kept in memory (on the training
device), and each step draws random 256×256 crops with horizontal flips from it, so
the data pipeline never stalls a GPU. Images smaller than the crop are skipped (with
a count in the log).

Loss: L = λ·D + R, R the bits per pixel from the likelihoods of ŷ and ẑ, D = 255²·MSE
or 1 − MS-SSIM (SPEC §4). Adam on the network, a separate Adam (lr 1e-3) on the
entropy bottleneck's quantiles (CompressAI's aux loss), gradient clipping, and the
learning rate divided by 10 at 90 % of ``max_steps``.

A run directory holds ``last.safetensors`` (fpsnr weights, usable by every codec
command), ``state.pt`` (optimizers, step, random-number states; read back with
``torch.load(weights_only=True)``, which runs no pickled code) and ``log.csv``. Both
files are replaced atomically, so an interrupted run keeps its last good checkpoint,
and ``resume`` continues exactly: for a fixed seed the loss trajectory after a
resume equals the uninterrupted run's.

Under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in DistributedDataParallel
(gloo on CPU, NCCL on CUDA); each rank draws its own crops, rank 0 writes the run.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from fpsnr.codec.models import build_model, get_spec
from fpsnr.codec.weights import _load_into, _read_safetensors, save_weights
from fpsnr.errors import CodecError
from fpsnr.files import atomic_path
from fpsnr.images import find_images, read_image
from fpsnr.progress import ProgressCallback, reporting
from fpsnr.regions import load_region_index

__all__ = ["TrainConfig", "resume_config", "train"]

LOG_COLUMNS = (
    "step", "seconds", "loss", "bpp", "mse", "psnr", "aux_loss", "lr", "steps_per_s",
    "skipped", "val_loss", "val_bpp", "val_psnr", "val_mean_fpsnr", "val_m_fpsnr",
)  # fmt: skip
DISTORTIONS = ("mse", "ms-ssim", "foveal-mse")


@dataclass(frozen=True)
class TrainConfig:
    data: str
    model: str
    lmbda: float
    out: str
    distortion: str = "mse"
    n: int | None = None
    m: int | None = None
    batch_size: int = 16
    patch: int = 256
    lr: float = 1e-4
    aux_lr: float = 1e-3
    clip: float = 1.0
    max_steps: int | None = None
    max_minutes: float | None = None
    init: str | None = None
    val: str | None = None
    val_every: int = 500
    checkpoint_every: int = 500
    log_every: int = 50
    seed: int = 0
    device: str = "cpu"
    max_bad_steps: int = 20
    fp: float = 0.5
    """Fp of ``foveal-mse`` and of the logged val M-FPSNR."""
    train_regions: str | None = None
    """Regions of the training photos (folder or collection, by file stem); else suggested."""
    val_regions: str | None = None
    """Regions of the validation images; with them log.csv gets val mean F_PSNR and M-FPSNR."""
    extra: dict[str, Any] = field(default_factory=dict)


class CropSource:
    """Random crops with flips from images held in memory on the training device.

    With ``regions`` (an index by file stem, or ``"suggest"``) every image also keeps its
    foveal regions, resolved to its pixels; :meth:`batch` then returns each crop's
    regions too, moved into the crop (and mirrored with it). Discs left without a pixel
    in the crop are dropped; a crop left with none gets one default-radius region at
    its centre (the single-focus fallback of ``--missing-regions center``). The random
    draws are the same with or without regions, so the plain path is unchanged.
    """

    def __init__(self, folder: str, patch: int, device: str, *, regions: Any = None) -> None:
        paths = [p for _, ps in sorted(find_images(folder).items()) for p in ps]
        if not paths:
            raise CodecError(f"{folder}: no training images found")
        self.images: list[torch.Tensor] = []
        self.names: list[str] = []
        self.discs: list[torch.Tensor] = []
        self.skipped = 0
        for path in paths:
            img = read_image(path)
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                self.skipped += 1
                continue
            if img.shape[0] < patch or img.shape[1] < patch:
                self.skipped += 1
                continue
            self.images.append(torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).to(device))
            self.names.append(path.name)
            if regions is not None:
                self.discs.append(_image_discs(img, path, regions))
        if not self.images:
            raise CodecError(f"{folder}: no 8-bit RGB image is at least {patch}×{patch} pixels")
        self.patch = patch
        self.device = device

    def batch(self, size: int, generator: torch.Generator) -> torch.Tensor:
        return self.batch_with_regions(size, generator)[0]

    def batch_with_regions(
        self, size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, list[list[Any]] | None]:
        picks = torch.randint(len(self.images), (size,), generator=generator).tolist()
        crops, regions = [], []
        for k in picks:
            img = self.images[k]
            h, w = img.shape[1:]
            y = int(torch.randint(h - self.patch + 1, (1,), generator=generator))
            x = int(torch.randint(w - self.patch + 1, (1,), generator=generator))
            crop = img[:, y : y + self.patch, x : x + self.patch]
            flip = bool(torch.rand(1, generator=generator) < 0.5)
            if flip:
                crop = crop.flip(-1)
            crops.append(crop)
            if self.discs:
                regions.append(crop_discs(self.discs[k], x, y, self.patch, flip=flip))
        return torch.stack(crops).to(torch.float32) / 255.0, (regions if self.discs else None)


def _image_discs(img: npt.NDArray[np.generic], path: Path, regions: Any) -> torch.Tensor:
    """(K, 3) float64 (cx, cy, r) of an image: from the index by stem, else suggested."""
    from fpsnr.saliency import suggest_regions

    height, width = img.shape[:2]
    entry = None if isinstance(regions, str) else regions.get(path.stem)
    if entry is None:
        entry = suggest_regions(img, image_name=path.name)
    discs = entry.resolve(width, height)
    return torch.tensor([[d.x, d.y, d.radius] for d in discs], dtype=torch.float64)


def crop_discs(
    discs: torch.Tensor, x: int, y: int, height: int, width: int | None = None, flip: bool = False
) -> list[Any]:
    """An image's discs in the pixels of the ``height`` × ``width`` crop at (x, y).

    Mirrored if the crop was; ``width`` defaults to ``height``. Discs left without a pixel
    are dropped; a crop left with none gets one default-radius region at its centre.
    """
    from fpsnr.regions import Disc, default_radius, disc_has_pixel

    width = height if width is None else width
    out = []
    for n, (cx, cy, r) in enumerate(discs.tolist(), start=1):
        cx, cy = cx - x, cy - y
        if flip:
            cx = (width - 1) - cx
        disc = Disc(cx, cy, r, f"region-{n}")
        if disc_has_pixel(disc, height, width):
            out.append(disc)
    return out or [Disc((width - 1) / 2, (height - 1) / 2, default_radius(width, height), "center")]


def _rd_loss(
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


def _split_parameters(model: torch.nn.Module) -> tuple[list[torch.nn.Parameter], list[torch.nn.Parameter]]:
    main = [p for n, p in model.named_parameters() if not n.endswith(".quantiles") and p.requires_grad]
    aux = [p for n, p in model.named_parameters() if n.endswith(".quantiles") and p.requires_grad]
    return main, aux


def _init_from(model: torch.nn.Module, path: str) -> None:
    """Warm start; an attention model from plain weights starts as the identity on top.

    ``path`` may name pretrained weights (:mod:`fpsnr.codec.pretrained`).
    """
    from fpsnr.codec.pretrained import resolve

    path = str(resolve(path))
    tensors, _ = _read_safetensors(Path(path))
    missing = [k for k in model.state_dict() if k not in tensors and ".attn." not in k]
    if missing:
        raise CodecError(f"{path}: cannot warm-start this model (it lacks {missing[:3]})")
    _load_into(model, tensors, path, strict=False)
    identity = getattr(model, "make_identity_attention", None)
    if identity is not None and not any(".attn." in k for k in tensors):
        identity()
        model.update(force=True)  # type: ignore[operator]
    model.train()


def _atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


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
            parts = _rd_loss(out, x, cfg.lmbda, "mse" if cfg.distortion == "foveal-mse" else cfg.distortion)
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


def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def resume_config(
    run_dir: str | os.PathLike[str], *, max_steps: int | None = None, max_minutes: float | None = None
) -> TrainConfig:
    """The configuration of the run in ``run_dir``, with its budget optionally extended."""
    run = Path(run_dir)
    config_file = run / "config.json"
    if not config_file.exists():
        raise CodecError(f"{run}: no config.json; not a training run directory")
    cfg = TrainConfig(**json.loads(config_file.read_text()))
    if max_steps is not None:
        cfg = replace(cfg, max_steps=max_steps)
    if max_minutes is not None:
        cfg = replace(cfg, max_minutes=max_minutes)
    return replace(cfg, out=str(run))


class _Run:
    """One training run's files: weights, optimizer state, log and configuration."""

    def __init__(self, cfg: TrainConfig) -> None:
        run = Path(cfg.out)
        self.dir = run
        self.state = run / "state.pt"
        self.weights = run / "last.safetensors"
        self.log = run / "log.csv"
        self.config = run / "config.json"

    def claim(self, *, resume: bool) -> None:
        if not resume and (self.state.exists() or self.weights.exists()):
            raise CodecError(
                f"{self.dir} already holds a run; resume it with --resume {self.dir}, or choose another --out"
            )
        self.dir.mkdir(parents=True, exist_ok=True)

    def start_log(self, cfg: TrainConfig, *, resume: bool, step: int) -> None:
        self.config.write_text(json.dumps(asdict(cfg), indent=2), encoding="utf-8")
        if not resume:
            with self.log.open("w", newline="") as handle:
                csv.writer(handle).writerow(LOG_COLUMNS)
        else:  # drop log rows written after the checkpoint we resume from
            with self.log.open(newline="") as handle:
                kept = [r for r in csv.reader(handle) if r and (r[0] == "step" or int(r[0]) <= step)]
            with self.log.open("w", newline="") as handle:
                csv.writer(handle).writerows(kept)

    def append_log(self, row: dict[str, Any]) -> None:
        with self.log.open("a", newline="") as handle:
            csv.writer(handle).writerow([row.get(c, "") for c in LOG_COLUMNS])


def _starting_model(cfg: TrainConfig, run: _Run, *, resume: bool) -> Any:
    """A fresh model, or the run's last weights on resume, or ``cfg.init``'s warm start."""
    model: Any = build_model(cfg.model, cfg.n, cfg.m).to(cfg.device)
    model.train()
    if resume:
        if not run.state.exists() or not run.weights.exists():
            raise CodecError(f"{run.dir}: nothing to resume (no state.pt and last.safetensors)")
        tensors, _ = _read_safetensors(run.weights)
        _load_into(model, tensors, str(run.weights), strict=True)
        model.train()
    elif cfg.init is not None:
        _init_from(model, cfg.init)
    return model


def _restore_state(
    run: _Run, optimizer: Any, aux_optimizer: Any, generator: torch.Generator, rank: int, device: str
) -> tuple[int, float]:
    """Optimizers and random-number states of the last checkpoint; its step and seconds."""
    state = torch.load(run.state, map_location=device, weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    aux_optimizer.load_state_dict(state["aux_optimizer"])
    generator.set_state(state["generator"][rank] if rank < len(state["generator"]) else state["generator"][0])
    torch.set_rng_state(state["torch_rng"])
    return int(state["step"]), float(state["seconds"])


def _wrap_distributed(model: Any, world: int) -> Any:
    if world <= 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    # the quantiles learn from the aux loss only, outside DDP's forward: DDP must not
    # sync them (its hooks would fire on their later gradients); we all-reduce them
    quantiles = [n for n, _ in model.named_parameters() if n.endswith(".quantiles")]
    DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, quantiles)  # type: ignore[no-untyped-call]
    # find_unused_parameters stays on (the attention blocks may leave some unused); torch warns
    # when none are, on every rank, which is noise in a training log
    warnings.filterwarnings("ignore", message=".*find_unused_parameters=True was specified.*")
    return DistributedDataParallel(model, find_unused_parameters=True)


def _average_aux_gradients(aux_params: list[torch.nn.Parameter], world: int) -> None:
    if world <= 1:
        return
    import torch.distributed as dist

    for p in aux_params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world


def train(
    cfg: TrainConfig,
    *,
    resume: bool = False,
    progress: ProgressCallback | bool | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    on_step: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) a run; return a summary of the last logged step.

    ``progress(step, max_steps)`` is called at the start and after every step (``True``
    draws a tqdm bar); ``on_log(row)`` with every row written to ``log.csv``;
    ``on_step(step)`` after every step — an exception it raises stops the run the way
    a crash would (no final checkpoint), which is how the tests simulate a kill.
    """
    if cfg.max_steps is None and cfg.max_minutes is None:
        raise CodecError("give a budget: --max-steps or --max-minutes")
    if cfg.distortion not in DISTORTIONS:
        raise CodecError(f"distortion must be one of {', '.join(DISTORTIONS)}, got {cfg.distortion!r}")
    if cfg.distortion == "ms-ssim" and cfg.patch <= 160:
        raise CodecError(
            f"--distortion ms-ssim needs crops larger than 160 px (its 4 downsamplings), got --patch "
            f"{cfg.patch}; use --patch 192 or more"
        )
    spec = get_spec(cfg.model)
    rank, world = _distributed()
    run = _Run(cfg)
    if rank == 0:
        run.claim(resume=resume)
    torch.manual_seed(cfg.seed + rank)
    generator = torch.Generator().manual_seed(cfg.seed + 1000 * rank)
    device = cfg.device
    model = _starting_model(cfg, run, resume=resume)
    net = _wrap_distributed(model, world)
    main_params, aux_params = _split_parameters(model)
    optimizer = torch.optim.Adam(main_params, lr=cfg.lr)
    aux_optimizer = torch.optim.Adam(aux_params, lr=cfg.aux_lr)
    step, seconds_before = 0, 0.0
    if resume:
        step, seconds_before = _restore_state(run, optimizer, aux_optimizer, generator, rank, device)
    train_regions: Any = None
    if cfg.distortion == "foveal-mse":
        train_regions = load_region_index(cfg.train_regions) if cfg.train_regions else "suggest"
    crops = CropSource(cfg.data, cfg.patch, device, regions=train_regions)
    val = None
    if cfg.val:
        val_index = load_region_index(cfg.val_regions) if cfg.val_regions else None
        val = CropSource(cfg.val, 64, device, regions=val_index)
    val_images = val.images if val is not None else []
    val_discs = val.discs if val is not None and cfg.val_regions else None
    if rank == 0:
        run.start_log(cfg, resume=resume, step=step)
    decay_at = int(0.9 * cfg.max_steps) if cfg.max_steps else None
    start = time.perf_counter()
    window_start, window_steps = start, 0
    bad_in_a_row, skipped = 0, 0
    last: dict[str, Any] = {}

    def elapsed() -> float:
        return seconds_before + time.perf_counter() - start

    def save() -> None:
        if rank != 0:
            return
        save_weights(model, run.weights, arch=spec.name, lmbda=cfg.lmbda, distortion=cfg.distortion,
                     steps=step, data=str(cfg.data),
                     extra={"seed": cfg.seed, "init": cfg.init or "random", **cfg.extra})  # fmt: skip
        _atomic_torch_save(
            {
                "step": step,
                "seconds": elapsed(),
                "optimizer": optimizer.state_dict(),
                "aux_optimizer": aux_optimizer.state_dict(),
                "generator": [generator.get_state()],
                "torch_rng": torch.get_rng_state(),
            },
            run.state,
        )

    def lr_now() -> float:
        return cfg.lr * (0.1 if decay_at is not None and step >= decay_at else 1.0)

    with reporting(progress if rank == 0 else None, f"train {spec.name} λ={cfg.lmbda:g}", "step") as report:
        if report is not None:
            report(step, cfg.max_steps)
        while True:
            if cfg.max_steps is not None and step >= cfg.max_steps:
                break
            if cfg.max_minutes is not None and elapsed() >= 60 * cfg.max_minutes:
                break
            for group in optimizer.param_groups:
                group["lr"] = lr_now()
            x, regions = crops.batch_with_regions(cfg.batch_size, generator)
            done = _optimise(net, model, x, cfg, (optimizer, aux_optimizer), (main_params, aux_params), world,
                             regions=regions)  # fmt: skip
            if done is None:
                skipped += 1
                bad_in_a_row += 1
                if bad_in_a_row >= cfg.max_bad_steps:
                    raise CodecError(
                        f"{bad_in_a_row} non-finite losses in a row at step {step}; stopped. The last good "
                        f"checkpoint is {run.weights}; lower the learning rate or check the data"
                    )
                continue
            parts, aux_loss = done
            bad_in_a_row = 0
            step += 1
            window_steps += 1
            if report is not None:
                report(step, cfg.max_steps)
            if rank == 0 and (step % cfg.log_every == 0 or step == cfg.max_steps):
                now = time.perf_counter()
                rate = window_steps / max(now - window_start, 1e-9)
                last = _log_row(parts, aux_loss, step=step, seconds=elapsed(), lr=lr_now(),
                                steps_per_s=rate, skipped=skipped)  # fmt: skip
                if val_images and (step % cfg.val_every == 0 or step == cfg.max_steps):
                    last.update(_validate(model, val_images, cfg, val_discs))
                run.append_log(last)
                window_start, window_steps = now, 0
                if on_log is not None:
                    on_log(last)
            if step % cfg.checkpoint_every == 0:
                save()
            if on_step is not None:
                on_step(step)
    save()
    model.update(force=True)
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return {
        **last,
        "step": step,
        "skipped": skipped,
        "images": len(crops.images),
        "skipped_images": crops.skipped,
    }


def _optimise(
    net: Any, model: Any, x: torch.Tensor, cfg: TrainConfig, optimizers: tuple[Any, Any],
    params: tuple[list[torch.nn.Parameter], list[torch.nn.Parameter]], world: int, regions: Any = None,
) -> tuple[dict[str, Any], torch.Tensor] | None:  # fmt: skip
    """One step of both optimizers on a batch; ``None`` (nothing changed) if the loss is not finite."""
    optimizer, aux_optimizer = optimizers
    main_params, aux_params = params
    optimizer.zero_grad(set_to_none=True)
    aux_optimizer.zero_grad(set_to_none=True)
    parts = _rd_loss(net(x), x, cfg.lmbda, cfg.distortion, regions, cfg.fp)
    if not torch.isfinite(parts["loss"]):
        return None
    parts["loss"].backward()
    if cfg.clip > 0:
        torch.nn.utils.clip_grad_norm_(main_params, cfg.clip)
    optimizer.step()
    aux_loss = model.aux_loss()
    aux_loss.backward()
    _average_aux_gradients(aux_params, world)
    aux_optimizer.step()
    return parts, aux_loss


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


def synthetic_rate(cfg: TrainConfig, steps: int = 20) -> float:
    """Training steps per second on random tensors already on the device (no data).

    The same optimisation step as :func:`train` (clipping included), so the ratio to a
    real run measures the data pipeline alone.
    """
    torch.manual_seed(cfg.seed)
    model: Any = build_model(cfg.model, cfg.n, cfg.m).to(cfg.device)
    model.train()
    main_params, aux_params = _split_parameters(model)
    optimizers = (torch.optim.Adam(main_params, lr=cfg.lr), torch.optim.Adam(aux_params, lr=cfg.aux_lr))
    x = torch.rand(cfg.batch_size, 3, cfg.patch, cfg.patch, device=cfg.device)
    start = 0.0
    for i in range(steps + 2):
        if i == 2:
            start = time.perf_counter()
        _optimise(model, model, x, cfg, optimizers, (main_params, aux_params), 1)
    return steps / (time.perf_counter() - start)
