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
(gloo on CPU, NCCL on CUDA; ``--device cuda`` is each process's ``cuda:LOCAL_RANK``); each
rank draws its own crops, rank 0 writes the run.

Throughput (GPU time is the scarcest thing a codec study has):

- :func:`train_many` trains several runs (models × λ) in one process, every step on
  the same crop batch, each run with its own optimizers, directory and log. On the
  CPU each run also keeps its own noise random-number stream, so every run equals the
  run trained alone, bit for bit; on CUDA the runs share the device's stream.
- The crops are cut by one batched gather from all photos packed in one device
  buffer, with the same random draws (so the same pixels) as 16 Python-level slices.
- ``compile``: ``torch.compile`` of the network (forward and backward); where it
  cannot compile, one warning and the plain network.
- ``cuda_graphs``: after three eager warm-up steps the whole step is captured in two
  CUDA graphs (forward + backward; clipping, both Adam steps and the aux loss) and
  replayed; between them the host reads one flag, so a non-finite loss still skips the
  step. The second graph is captured again when the learning rate drops. CUDA only,
  not with ``foveal-mse`` (its regions change every batch), ``ms-ssim`` or under torchrun.
- ``amp="bf16"``: autocast of the convolutions to bfloat16, while GDN's normalisation,
  the channel attention, the layers producing y, z, the scales and x̂, the entropy
  models (likelihoods), the rate term and the distortion stay in float32.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from fpsnr.codec.models import build_model, get_spec, without_host_syncs
from fpsnr.codec.weights import _load_into, _read_safetensors, save_weights
from fpsnr.errors import CodecError
from fpsnr.files import atomic_path
from fpsnr.images import find_images, read_image
from fpsnr.progress import ProgressCallback, reporting
from fpsnr.regions import load_region_index

__all__ = [
    "TrainConfig", "graphs_fit", "group_name", "progress_title", "resume_config", "resume_configs", "train",
    "train_many", "write_group",
]  # fmt: skip

LOG_COLUMNS = (
    "step", "seconds", "loss", "bpp", "mse", "psnr", "aux_loss", "lr", "steps_per_s",
    "skipped", "val_loss", "val_bpp", "val_psnr", "val_mean_fpsnr", "val_m_fpsnr",
)  # fmt: skip
DISTORTIONS = ("mse", "ms-ssim", "foveal-mse")
AMP_CHOICES = ("off", "bf16")
GROUP_FILE = "runs.json"
"""A folder of several runs trained together lists them (by folder name) in this file."""
# fields that may differ between the runs of one train_many call; the others are shared
PER_RUN_FIELDS = ("model", "lmbda", "out", "init")
WARMUP_STEPS = 3
"""Eager steps before the CUDA graphs are captured (cuDNN, cuBLAS and optimizer state set up)."""
CUDNN_BENCHMARK = True
"""On CUDA let cuDNN time its convolution algorithms once (the crops have one size); the
benchmark turns it off to measure the path before it."""
GATHER_CROPS = True
"""Cut a batch by one gather (False: slices, the path before; same pixels)."""
COMPILE_BACKEND = "inductor"
"""``torch.compile`` backend of ``--compile`` (tests use ``aot_eager``: same tracing, no code generation)."""


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
    compile: bool = False
    """``torch.compile`` the network (forward and backward)."""
    cuda_graphs: bool = False
    """Capture the whole step in CUDA graphs and replay them (CUDA only)."""
    amp: str = "off"
    """``bf16``: convolutions in bfloat16, normalisations, likelihoods and loss in float32."""
    extra: dict[str, Any] = field(default_factory=dict)


class CropSource:
    """Random crops with flips from images held in memory on the training device.

    All images are packed, channel-planar, into one uint8 buffer on the device; a batch
    is one gather from it. The random draws (image, y, x, flip for each crop, in that
    order, from ``generator`` on the CPU) are those of cutting each crop as a slice, so
    both give the same pixels (``gather=False`` cuts slices: the reference, and the
    path before the gather).

    With ``regions`` (an index by file stem, or ``"suggest"``) every image also keeps its
    foveal regions, resolved to its pixels; :meth:`batch` then returns each crop's
    regions too, moved into the crop (and mirrored with it). Discs left without a pixel
    in the crop are dropped; a crop left with none gets one default-radius region at
    its centre (the single-focus fallback of ``--missing-regions center``). The random
    draws are the same with or without regions, so the plain path is unchanged.
    """

    def __init__(
        self, folder: str, patch: int, device: str, *, regions: Any = None, gather: bool = True
    ) -> None:
        paths = [p for _, ps in sorted(find_images(folder).items()) for p in ps]
        if not paths:
            raise CodecError(f"{folder}: no training images found")
        planes: list[torch.Tensor] = []
        self.names: list[str] = []
        self.discs: list[torch.Tensor] = []
        self.sizes: list[tuple[int, int]] = []
        self.skipped = 0
        for path in paths:
            img = read_image(path)
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                self.skipped += 1
                continue
            if img.shape[0] < patch or img.shape[1] < patch:
                self.skipped += 1
                continue
            planes.append(torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).reshape(-1))
            self.sizes.append((img.shape[0], img.shape[1]))
            self.names.append(path.name)
            if regions is not None:
                self.discs.append(_image_discs(img, path, regions))
        if not planes:
            raise CodecError(f"{folder}: no 8-bit RGB image is at least {patch}×{patch} pixels")
        self.flat = torch.cat(planes).to(device)
        starts = np.cumsum([0] + [p.numel() for p in planes[:-1]])
        self.starts = [int(v) for v in starts]
        self.images: list[torch.Tensor] = [  # views of the buffer
            self.flat[s : s + 3 * h * w].view(3, h, w)
            for s, (h, w) in zip(self.starts, self.sizes, strict=True)
        ]
        self.patch = patch
        self.device = device
        self.gather = gather
        self._span = torch.arange(patch, device=device)
        self._channels = torch.arange(3, device=device)

    def batch(self, size: int, generator: torch.Generator) -> torch.Tensor:
        return self.batch_with_regions(size, generator)[0]

    def batch_with_regions(
        self, size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, list[list[Any]] | None]:
        picks = torch.randint(len(self.images), (size,), generator=generator).tolist()
        draws, regions = [], []
        for k in picks:
            h, w = self.sizes[k]
            y = int(torch.randint(h - self.patch + 1, (1,), generator=generator))
            x = int(torch.randint(w - self.patch + 1, (1,), generator=generator))
            flip = bool(torch.rand(1, generator=generator) < 0.5)
            draws.append((k, y, x, flip))
            if self.discs:
                regions.append(crop_discs(self.discs[k], x, y, self.patch, flip=flip))
        crops = self._gathered(draws) if self.gather else self._sliced(draws)
        return crops.to(torch.float32) / 255.0, (regions if self.discs else None)

    def _sliced(self, draws: list[tuple[int, int, int, bool]]) -> torch.Tensor:
        crops = []
        for k, y, x, flip in draws:
            crop = self.images[k][:, y : y + self.patch, x : x + self.patch]
            crops.append(crop.flip(-1) if flip else crop)
        return torch.stack(crops)

    def _gathered(self, draws: list[tuple[int, int, int, bool]]) -> torch.Tensor:
        """(B, 3, P, P) uint8: crop b's pixel (c, i, j) is flat[origin + c·h·w + i·w + j']."""
        rows = []
        for k, y, x, flip in draws:
            h, w = self.sizes[k]
            rows.append((self.starts[k] + y * w + x, w, h * w, int(flip)))
        origin, width, plane, flips = torch.tensor(rows, dtype=torch.int64).to(self.device).unbind(1)
        span = self._span
        cols = torch.where(flips[:, None].bool(), self.patch - 1 - span, span)  # (B, P), mirrored if flipped
        index = (
            origin[:, None, None, None]
            + self._channels[None, :, None, None] * plane[:, None, None, None]
            + span[None, None, :, None] * width[:, None, None, None]
            + cols[:, None, None, :]
        )
        return self.flat[index]


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


def _distributed(device: str) -> tuple[int, int]:
    """(rank, world size); under torchrun, joins the process group first.

    The backend follows ``device`` (NCCL for CUDA, gloo otherwise, also on a machine with
    GPUs). ``cuda`` without an index means each process's own GPU, ``cuda:LOCAL_RANK``: it
    becomes the process's current CUDA device, so every ``.to("cuda")`` lands there.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    cuda = torch.device(device).type == "cuda"
    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
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


def resume_configs(
    run_dir: str | os.PathLike[str], *, max_steps: int | None = None, max_minutes: float | None = None
) -> list[TrainConfig]:
    """The runs in ``run_dir``: the one run it holds, or every run of a group folder (``runs.json``)."""
    run = Path(run_dir)
    group = run / GROUP_FILE
    if (run / "config.json").exists() or not group.exists():
        return [resume_config(run, max_steps=max_steps, max_minutes=max_minutes)]
    try:
        names = json.loads(group.read_text(encoding="utf-8"))["runs"]
    except (ValueError, KeyError, TypeError) as err:
        raise CodecError(f"{group}: not a list of runs ({err}); resume each run folder instead") from None
    return [resume_config(run / str(name), max_steps=max_steps, max_minutes=max_minutes) for name in names]


def write_group(folder: str | os.PathLike[str], cfgs: Sequence[TrainConfig]) -> None:
    """List the runs of a group folder in its ``runs.json``, so ``--resume FOLDER`` resumes them all."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    names = [Path(c.out).relative_to(path).as_posix() for c in cfgs]
    with atomic_path(path / GROUP_FILE) as tmp:
        Path(tmp).write_text(json.dumps({"runs": names}, indent=2), encoding="utf-8")


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
    run: _Run, optimizer: Any, aux_optimizer: Any, rank: int, device: str
) -> tuple[int, float, torch.Tensor, torch.Tensor]:
    """Load the optimizers of the last checkpoint; its step, seconds, crop and noise RNG states."""
    state = torch.load(run.state, map_location=device, weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    aux_optimizer.load_state_dict(state["aux_optimizer"])
    generators = state["generator"]
    crop_rng = generators[rank] if rank < len(generators) else generators[0]
    return int(state["step"]), float(state["seconds"]), crop_rng.cpu(), state["torch_rng"].cpu()


def _wrap_distributed(model: Any, world: int) -> Any:
    if world <= 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    # the quantiles learn from the aux loss only, outside DDP's forward: DDP must not
    # sync them (its hooks would fire on their later gradients); we all-reduce them
    quantiles = [n for n, _ in model.named_parameters() if n.endswith(".quantiles")]
    DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, quantiles)  # type: ignore[no-untyped-call]
    # Every other parameter takes part in every forward pass (the attention blocks too, also
    # when warm-started as the identity: a zero W1 still gets gradients), so DDP need not
    # search the graph for unused ones; with find_unused_parameters=True torch printed a
    # warning from C++ on every rank, which no Python warnings filter reaches.
    return DistributedDataParallel(model)


def _average_aux_gradients(aux_params: list[torch.nn.Parameter], world: int) -> None:
    if world <= 1:
        return
    import torch.distributed as dist

    for p in aux_params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world


def _keep_float32(module: torch.nn.Module, device_type: str) -> None:
    """Run ``module`` in float32 with autocast off, whatever autocast its caller has on."""
    inner = module.forward

    def forward(*args: Any, **kwargs: Any) -> Any:
        with torch.autocast(device_type, enabled=False):
            floats = (a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args)
            return inner(*floats, **kwargs)

    module.forward = forward  # type: ignore[method-assign]


def _prepare_amp(model: torch.nn.Module, device_type: str) -> None:
    """Mark what stays float32 under bf16 autocast (see the module docstring)."""
    from compressai.entropy_models import EntropyBottleneck, GaussianConditional
    from compressai.layers import GDN

    from fpsnr.codec.layers import ChannelAttention

    for module in model.modules():
        if isinstance(module, GDN | EntropyBottleneck | GaussianConditional | ChannelAttention):
            _keep_float32(module, device_type)
    for name in ("g_a", "h_a", "h_s", "g_s"):  # the layers producing y, z, the scales and x̂
        layers = getattr(model, name).modules()
        convs = [m for m in layers if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)]
        _keep_float32(convs[-1], device_type)


class _Trainer:
    """One run of a training process: its model, optimizers, files, step count and step function."""

    def __init__(self, cfg: TrainConfig, *, rank: int, world: int, resume: bool,
                 warn: Callable[[str], None]) -> None:  # fmt: skip
        self.cfg = cfg
        self.spec = get_spec(cfg.model)
        self.rank, self.world = rank, world
        self.run = _Run(cfg)
        if rank == 0:
            self.run.claim(resume=resume)
        torch.manual_seed(cfg.seed + rank)
        self.model: Any = without_host_syncs(_starting_model(cfg, self.run, resume=resume))
        device_type = torch.device(cfg.device).type
        self.amp = device_type if cfg.amp == "bf16" else None
        if self.amp is not None:
            _prepare_amp(self.model, device_type)
        self.net = _wrap_distributed(self.model, world)
        self.params = _split_parameters(self.model)
        graphs = cfg.cuda_graphs and self._graphs_possible(device_type, warn)
        self.optimizers = (
            torch.optim.Adam(self.params[0], lr=cfg.lr, capturable=graphs),
            torch.optim.Adam(self.params[1], lr=cfg.aux_lr, capturable=graphs),
        )
        self.step, self.seconds_before = 0, 0.0
        self.crop_rng: torch.Tensor | None = None
        if resume:
            self.step, self.seconds_before, self.crop_rng, noise_rng = _restore_state(
                self.run, *self.optimizers, rank, cfg.device
            )
            torch.set_rng_state(noise_rng)
        self.noise_rng = torch.get_rng_state()
        self.forward: Any = self.net
        self.compiling = False
        if cfg.compile:
            self.forward = torch.compile(self.net, backend=COMPILE_BACKEND)
            self.compiling = True
        self.graph = _GraphStep(self) if graphs else None
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
            warn(f"--cuda-graphs: {why}; training without them")
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
            return _optimise(self.forward, self.model, x, self.cfg, self.optimizers, self.params, self.world,
                             regions=regions, amp=self.amp)  # fmt: skip
        try:  # the first call compiles (forward now, backward at its first call): no optimizer step yet
            done = _optimise(self.forward, self.model, x, self.cfg, self.optimizers, self.params, self.world,
                             regions=regions, amp=self.amp)  # fmt: skip
        except Exception as err:  # any compiler failure: fall back, say why
            first = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
            self.warn(f"--compile unavailable here ({type(err).__name__}: {first}); training without it")
            self.forward = self.net
            self.compiling = False
            return self.optimise_eagerly(x, regions)
        self.compiling = False
        return done

    def save(self, crop_rng: torch.Tensor) -> None:
        if self.rank != 0:
            return
        cfg, optimizer, aux_optimizer = self.cfg, *self.optimizers
        save_weights(self.model, self.run.weights, arch=self.spec.name, lmbda=cfg.lmbda,
                     distortion=cfg.distortion, steps=self.step, data=str(cfg.data),
                     extra={"seed": cfg.seed, "init": cfg.init or "random", **cfg.extra})  # fmt: skip
        _atomic_torch_save(
            {
                "step": self.step,
                "seconds": self.elapsed(),
                "optimizer": optimizer.state_dict(),
                "aux_optimizer": aux_optimizer.state_dict(),
                "generator": [crop_rng],
                "torch_rng": torch.get_rng_state(),
            },
            self.run.state,
        )


class _GraphStep:
    """The training step as two CUDA graphs, captured after the eager warm-up steps.

    Graph 1: forward, loss, backward and a finite-loss flag; graph 2: clipping, the Adam
    step, the aux loss, its backward and the aux Adam step. Gradients live in graph 1's
    memory (they are None when it is captured), so every replay writes them afresh.
    """

    def __init__(self, trainer: _Trainer) -> None:
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
        if self.eager < WARMUP_STEPS:  # on a side stream, as CUDA graph capture asks
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
            t.warn(f"--cuda-graphs: capture failed ({type(err).__name__}: {first}); training without them")
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
            parts = _rd_loss(_forward(t.forward, self.x, t.amp), self.x, t.cfg.lmbda, t.cfg.distortion)
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


def _forward(forward: Any, x: torch.Tensor, amp: str | None) -> Any:
    if amp is None:
        return forward(x)
    # no cast cache: a CUDA graph must recompute the bf16 weights at every replay
    with torch.autocast(amp, dtype=torch.bfloat16, cache_enabled=False):
        return forward(x)


def graphs_fit(device: str, distortion: str) -> bool:
    """Whether CUDA graphs can run this training: the default of ``--cuda-graphs``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return torch.device(device).type == "cuda" and distortion == "mse" and world <= 1


def progress_title(cfgs: Sequence[TrainConfig]) -> str:
    """What the progress of a training says it is: ``train <model> λ=<λ>`` or ``train <n> runs``."""
    return f"train {cfgs[0].model} λ={cfgs[0].lmbda:g}" if len(cfgs) == 1 else f"train {len(cfgs)} runs"


def group_name(cfg: TrainConfig) -> str:
    """The folder of one run inside a group folder: ``<model>-<λ>``."""
    return f"{cfg.model}-{cfg.lmbda:g}"


def _check_group(cfgs: Sequence[TrainConfig]) -> None:
    if not cfgs:
        raise CodecError("nothing to train: no run given")
    first = asdict(cfgs[0])
    for cfg in cfgs[1:]:
        differ = [k for k, v in asdict(cfg).items() if k not in PER_RUN_FIELDS and v != first[k]]
        if differ:
            raise CodecError(f"runs trained together share every setting but {', '.join(PER_RUN_FIELDS)}; "
                             f"{cfg.out} differs in {', '.join(differ)}")  # fmt: skip
    outs = [str(Path(c.out).resolve()) for c in cfgs]
    if len(set(outs)) != len(outs):
        raise CodecError("two runs trained together share a run directory; give each its own --out")


def train(
    cfg: TrainConfig,
    *,
    resume: bool = False,
    progress: ProgressCallback | bool | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
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
                      on_warning=on_warning)[0]  # fmt: skip


def train_many(
    cfgs: Sequence[TrainConfig],
    *,
    resume: bool = False,
    progress: ProgressCallback | bool | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Train (or resume) several runs in one process, all on the same crop batches.

    The runs may differ only in model, λ, ``out`` and ``init`` (:data:`PER_RUN_FIELDS`). Each has
    its own optimizers, directory, checkpoints and log, and can later be resumed alone.
    ``on_log`` rows carry the run's directory as ``"run"``; ``progress`` and ``on_step``
    see the largest step of the runs. Returns one summary per run, as :func:`train`.
    """
    _check_group(cfgs)
    cfg = cfgs[0]
    if cfg.max_steps is None and cfg.max_minutes is None:
        raise CodecError("give a budget: --max-steps or --max-minutes")
    if cfg.distortion not in DISTORTIONS:
        raise CodecError(f"distortion must be one of {', '.join(DISTORTIONS)}, got {cfg.distortion!r}")
    if cfg.amp not in AMP_CHOICES:
        raise CodecError(f"amp must be one of {', '.join(AMP_CHOICES)}, got {cfg.amp!r}")
    if cfg.distortion == "ms-ssim" and cfg.patch <= 160:
        raise CodecError(
            f"--distortion ms-ssim needs crops larger than 160 px (its 4 downsamplings), got --patch "
            f"{cfg.patch}; use --patch 192 or more"
        )
    said: set[str] = set()

    def warn(message: str) -> None:  # each message once, however many runs it concerns
        if message in said:
            return
        said.add(message)
        if on_warning is not None:
            on_warning(message)
        else:
            warnings.warn(message, stacklevel=3)

    rank, world = _distributed(cfg.device)
    if cfg.device.startswith("cuda") and CUDNN_BENCHMARK:
        torch.backends.cudnn.benchmark = True  # fixed crop size: pick the fastest convolutions once
    trainers = [_Trainer(c, rank=rank, world=world, resume=resume, warn=warn) for c in cfgs]
    several = len(trainers) > 1
    generator = torch.Generator().manual_seed(cfg.seed + 1000 * rank)
    if trainers[0].crop_rng is not None:
        generator.set_state(trainers[0].crop_rng)
    train_regions: Any = None
    if cfg.distortion == "foveal-mse":
        train_regions = load_region_index(cfg.train_regions) if cfg.train_regions else "suggest"
    crops = CropSource(cfg.data, cfg.patch, cfg.device, regions=train_regions, gather=GATHER_CROPS)
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
    t: _Trainer, x: torch.Tensor, regions: Any, generator: torch.Generator, val_images: list[torch.Tensor],
    val_discs: list[Any] | None, on_log: Callable[[dict[str, Any]], None] | None,
) -> bool:  # fmt: skip
    """One step of one run, with its log row and checkpoint; False if the step was skipped."""
    cfg = t.cfg
    done = t.optimise(x, regions)
    if done is None:
        t.skipped += 1
        t.bad_in_a_row += 1
        if t.bad_in_a_row >= cfg.max_bad_steps:
            raise CodecError(
                f"{t.bad_in_a_row} non-finite losses in a row at step {t.step}; stopped. The last good "
                f"checkpoint is {t.run.weights}; lower the learning rate or check the data"
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


def _optimise(
    net: Any, model: Any, x: torch.Tensor, cfg: TrainConfig, optimizers: tuple[Any, Any],
    params: tuple[list[torch.nn.Parameter], list[torch.nn.Parameter]], world: int, regions: Any = None,
    amp: str | None = None,
) -> tuple[dict[str, Any], torch.Tensor] | None:  # fmt: skip
    """One step of both optimizers on a batch; ``None`` (nothing changed) if the loss is not finite."""
    optimizer, aux_optimizer = optimizers
    main_params, aux_params = params
    optimizer.zero_grad(set_to_none=True)
    aux_optimizer.zero_grad(set_to_none=True)
    parts = _rd_loss(_forward(net, x, amp), x, cfg.lmbda, cfg.distortion, regions, cfg.fp)
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
