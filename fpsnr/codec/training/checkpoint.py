"""A run's files: weights, optimizer state, log and configuration, written so a run resumes exactly.

``last.safetensors`` (fpsnr weights, usable by every codec command), ``state.pt``
(optimizers, step, random-number states; read back with ``torch.load(weights_only=True)``,
which runs no pickled code) and ``log.csv``. Both files are replaced atomically.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from fpsnr.codec.models import build_model
from fpsnr.codec.training.config import LOG_COLUMNS, TrainConfig
from fpsnr.codec.weights import load_into, read_safetensors, warm_start
from fpsnr.errors import CodecError
from fpsnr.files import atomic_path

__all__ = ["RunFiles", "init_from", "restore_state", "save_state_atomic", "starting_model"]


def init_from(model: torch.nn.Module, path: str) -> None:
    """Warm start from weights (a file or a pretrained name), then train mode."""
    from fpsnr.codec.pretrained import resolve

    source = str(resolve(path))
    tensors, _ = read_safetensors(Path(source))
    warm_start(model, tensors, source)
    model.train()


def save_state_atomic(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


class RunFiles:
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
                f"{self.dir} already holds a run; resume it ({{resume}}), or choose {{another_out}}"
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


def starting_model(cfg: TrainConfig, run: RunFiles, *, resume: bool) -> Any:
    """A fresh model, or the run's last weights on resume, or ``cfg.init``'s warm start."""
    model: Any = build_model(cfg.model, cfg.n, cfg.m).to(cfg.device)
    model.train()
    if resume:
        if not run.state.exists() or not run.weights.exists():
            raise CodecError(f"{run.dir}: nothing to resume (no state.pt and last.safetensors)")
        tensors, _ = read_safetensors(run.weights)
        load_into(model, tensors, str(run.weights), strict=True)
        model.train()
    elif cfg.init is not None:
        init_from(model, cfg.init)
    return model


def restore_state(
    run: RunFiles, optimizer: Any, aux_optimizer: Any, rank: int, device: str
) -> tuple[int, float, torch.Tensor, torch.Tensor]:
    """Load the optimizers of the last checkpoint; its step, seconds, crop and noise RNG states."""
    state = torch.load(run.state, map_location=device, weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    aux_optimizer.load_state_dict(state["aux_optimizer"])
    generators = state["generator"]
    crop_rng = generators[rank] if rank < len(generators) else generators[0]
    return int(state["step"]), float(state["seconds"]), crop_rng.cpu(), state["torch_rng"].cpu()
