"""What a training run is: :class:`TrainConfig` (checked when made), :class:`Tuning`, run groups.

A config is what decides the result and is recorded in the run's ``config.json`` (a
resumed run must match it); :class:`Tuning` is how fast it gets there (crop gathering,
cuDNN autotuning, the compile backend) and is not recorded. Several runs trained together
(models × λ) form a group folder listed in ``runs.json``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from fpsnr.errors import CodecError
from fpsnr.files import atomic_path
from fpsnr.limits import read_capped

__all__ = [
    "AMP_CHOICES",
    "DISTORTIONS",
    "LOG_COLUMNS",
    "PER_RUN_FIELDS",
    "TrainConfig",
    "Tuning",
    "check_group",
    "group_name",
    "progress_title",
    "resume_config",
    "resume_configs",
    "write_group",
]

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
MIN_MS_SSIM_PATCH = 161
"""MS-SSIM's four downsamplings need crops larger than 160 px."""


@dataclass(frozen=True)
class Tuning:
    """How fast training gets there, not where: same pixels, same arithmetic, not recorded."""

    gather_crops: bool = True
    """Cut a batch by one gather from all photos (False: one slice per crop; same pixels)."""
    cudnn_benchmark: bool = True
    """On CUDA let cuDNN time its convolution algorithms once (the crops have one size)."""
    compile_backend: str = "inductor"
    """``torch.compile`` backend when ``compile`` is on (``aot_eager``: same tracing, no code generation)."""
    warmup_steps: int = 3
    """Eager steps before the CUDA graphs are captured (cuDNN, cuBLAS and optimizer state set up)."""
    sync_free: bool = True
    """Entropy bottlenecks with a forward that never waits for the device (False: CompressAI's)."""


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

    def __post_init__(self) -> None:
        _check_fields(self)
        if self.max_steps is None and self.max_minutes is None:
            raise CodecError("give a budget: {max_steps} or {max_minutes}")
        if self.distortion not in DISTORTIONS:
            raise CodecError(f"distortion must be one of {', '.join(DISTORTIONS)}, got {self.distortion!r}")
        if self.amp not in AMP_CHOICES:
            raise CodecError(f"amp must be one of {', '.join(AMP_CHOICES)}, got {self.amp!r}")
        if self.distortion == "ms-ssim" and self.patch < MIN_MS_SSIM_PATCH:
            raise CodecError(
                f"distortion ms-ssim needs crops larger than 160 px (its 4 downsamplings), got a patch of "
                f"{self.patch}; use a {{patch}} of 192 or more"
            )


MAX_BATCH_PIXELS = 1 << 26
"""Largest batch × patch², in pixels: 64 batches of 1024² crops; the activations of one
pixel cost hundreds of bytes, so even this needs a large GPU."""
MAX_PATCH = 4096


def _whole(value: Any, low: int, high: int | None = None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= (high or value)


def _number(value: Any, *, low: float, positive: bool = False, high: float = math.inf) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return (value > low if positive else value >= low) and value <= high


def _check_fields(cfg: TrainConfig) -> None:
    """Every field of a config of a sound type and range (a hand-edited config.json included)."""
    from fpsnr.limits import MAX_CODEC_CHANNELS

    problems = []
    for name in ("data", "model", "out", "distortion", "device", "amp"):
        if not isinstance(getattr(cfg, name), str):
            problems.append(f"{name} must be text")
    for name in ("init", "val", "train_regions", "val_regions"):
        if getattr(cfg, name) is not None and not isinstance(getattr(cfg, name), str):
            problems.append(f"{name} must be text or null")
    for name in ("n", "m"):
        value = getattr(cfg, name)
        if value is not None and not _whole(value, 1, MAX_CODEC_CHANNELS):
            problems.append(f"{name} must be a whole number from 1 to {MAX_CODEC_CHANNELS} (or null)")
    wholes = {"batch_size": (1, None), "patch": (64, MAX_PATCH), "val_every": (1, None),
              "checkpoint_every": (1, None), "log_every": (1, None), "seed": (0, None),
              "max_bad_steps": (1, None)}  # fmt: skip
    for name, (low, high) in wholes.items():
        if not _whole(getattr(cfg, name), low, high):
            problems.append(f"{name} must be a whole number ≥ {low}" + (f" and ≤ {high}" if high else ""))
    if cfg.max_steps is not None and not _whole(cfg.max_steps, 1):
        problems.append("max_steps must be a whole number ≥ 1 (or null)")
    if cfg.max_minutes is not None and not _number(cfg.max_minutes, low=0, positive=True):
        problems.append("max_minutes must be a positive number (or null)")
    if not _number(cfg.lmbda, low=0, positive=True):
        problems.append("lmbda must be a positive number")
    for name in ("lr", "aux_lr", "clip"):
        if not _number(getattr(cfg, name), low=0):
            problems.append(f"{name} must be a number ≥ 0")
    if not _number(cfg.fp, low=0, high=1):
        problems.append("fp must be a number in [0, 1]")
    for name in ("compile", "cuda_graphs"):
        if not isinstance(getattr(cfg, name), bool):
            problems.append(f"{name} must be true or false")
    if not isinstance(cfg.extra, dict):
        problems.append("extra must be a mapping")
    if not problems and cfg.batch_size * cfg.patch**2 > MAX_BATCH_PIXELS:
        problems.append(
            f"batch_size × patch² = {cfg.batch_size} × {cfg.patch}² is more than {MAX_BATCH_PIXELS:,} "
            "pixels a step; use a smaller batch or patch"
        )
    if problems:
        raise CodecError("training settings: " + "; ".join(problems))


def resume_config(
    run_dir: str | os.PathLike[str], *, max_steps: int | None = None, max_minutes: float | None = None
) -> TrainConfig:
    """The configuration of the run in ``run_dir``, with its budget optionally extended."""
    run = Path(run_dir)
    config_file = run / "config.json"
    if not config_file.exists():
        raise CodecError(f"{run}: no config.json; not a training run directory")
    cfg = _read_config(config_file)
    if max_steps is not None:
        cfg = replace(cfg, max_steps=max_steps)
    if max_minutes is not None:
        cfg = replace(cfg, max_minutes=max_minutes)
    return replace(cfg, out=str(run))


def _read_config(path: Path) -> TrainConfig:
    """The config a run recorded, refused in one line when damaged or edited out of shape."""
    fix = "restore it from a backup, or start a new run (a warm start: {init}last.safetensors)"
    data = read_capped(path, 1 << 20, CodecError, expected="a JSON file", regular=True)
    if data is None:
        raise CodecError(f"{path}: more than 1 MiB, not a run configuration; {fix}")
    try:
        recorded = json.loads(data.decode("utf-8"))
    except ValueError as err:
        raise CodecError(f"{path}: not a readable run configuration ({err}); {fix}") from None
    if not isinstance(recorded, dict):
        raise CodecError(f"{path}: not a run configuration (a JSON object of settings); {fix}")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    required = {f.name for f in dataclasses.fields(TrainConfig)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}  # fmt: skip
    unknown, missing = sorted(set(recorded) - fields), sorted(required - set(recorded))
    if unknown or missing:
        said = [f"unknown settings {', '.join(unknown)}"] if unknown else []
        said += [f"missing settings {', '.join(missing)}"] if missing else []
        raise CodecError(f"{path}: {'; '.join(said)}; {fix}")
    try:
        return TrainConfig(**recorded)
    except CodecError as err:
        raise CodecError(f"{path}: {err}") from None


def resume_configs(
    run_dir: str | os.PathLike[str], *, max_steps: int | None = None, max_minutes: float | None = None
) -> list[TrainConfig]:
    """The runs in ``run_dir``: the one run it holds, or every run of a group folder (``runs.json``)."""
    run = Path(run_dir)
    group = run / GROUP_FILE
    if (run / "config.json").exists() or not group.exists():
        return [resume_config(run, max_steps=max_steps, max_minutes=max_minutes)]
    try:
        data = read_capped(group, 1 << 20, CodecError, expected="a list of runs (JSON)", regular=True)
        names = json.loads(data or b"")["runs"]
    except CodecError:
        raise
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


def progress_title(cfgs: Sequence[TrainConfig]) -> str:
    """What the progress of a training says it is: ``train <model> λ=<λ>`` or ``train <n> runs``."""
    return f"train {cfgs[0].model} λ={cfgs[0].lmbda:g}" if len(cfgs) == 1 else f"train {len(cfgs)} runs"


def group_name(cfg: TrainConfig) -> str:
    """The folder of one run inside a group folder: ``<model>-<λ>``."""
    return f"{cfg.model}-{cfg.lmbda:g}"


def check_group(cfgs: Sequence[TrainConfig]) -> None:
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
        raise CodecError("two runs trained together share a run directory; give each its own output folder")
