"""A run's files: weights, optimizer state, log and configuration, written so a run resumes exactly.

``state.pt`` is the checkpoint, one file written atomically: the model's tensors, the
optimizers, the step, the random-number states (read back with
``torch.load(weights_only=True)``, which runs no pickled code). ``last.safetensors`` is
the same weights for every codec command, written after it; a kill between the two
leaves it one checkpoint behind, and the resume rewrites it from ``state.pt``. (Runs
made before ``state.pt`` held the weights resume from ``last.safetensors`` only when
both files record the same step.) ``config.json`` and ``log.csv`` are replaced
atomically too.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from fpsnr.codec.models import build_model
from fpsnr.codec.training.config import LOG_COLUMNS, TrainConfig
from fpsnr.codec.weights import check_shapes, load_into, read_metadata, read_safetensors, warm_start
from fpsnr.errors import CodecError
from fpsnr.files import atomic_path, open_regular, save_atomic, zip_unpacked_size

__all__ = ["RunFiles", "init_from", "read_state", "restore_state", "save_state_atomic", "starting_model"]


def init_from(model: torch.nn.Module, path: str) -> None:
    """Warm start from weights (a file or a pretrained name), then train mode."""
    from fpsnr.codec.pretrained import resolve

    source = str(resolve(path))
    tensors, _ = read_safetensors(Path(source))
    warm_start(model, tensors, source)
    model.train()


def save_state_atomic(obj: Any, path: Path) -> None:
    save_atomic(path, lambda tmp: torch.save(obj, tmp))


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
        with atomic_path(self.config) as tmp:
            Path(tmp).write_text(json.dumps(asdict(cfg), indent=2), encoding="utf-8")
        kept: list[list[str]] = [list(LOG_COLUMNS)]
        if resume:  # drop log rows written after the checkpoint we resume from
            kept = [r for r in self._log_rows() if r and (r[0] == "step" or int(r[0]) <= step)]
        with atomic_path(self.log) as tmp, Path(tmp).open("w", newline="") as handle:
            csv.writer(handle).writerows(kept)

    def _log_rows(self) -> list[list[str]]:
        if not self.log.exists():
            return [list(LOG_COLUMNS)]
        try:
            with (
                open_regular(self.log, CodecError, expected="a training log (CSV)") as raw,
                io.TextIOWrapper(raw, newline="", encoding="utf-8") as handle,
            ):
                rows = list(csv.reader(handle))
            for row in rows:
                if row and row[0] != "step":
                    int(row[0])
        except CodecError:
            raise
        except (OSError, ValueError, csv.Error) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
            raise CodecError(
                f"{self.log}: not a training log ({reason}); move it aside and {{resume}} again "
                "(a new log starts at the checkpoint's step)"
            ) from None
        return rows

    def append_log(self, row: dict[str, Any]) -> None:
        with self.log.open("a", newline="") as handle:
            csv.writer(handle).writerow([row.get(c, "") for c in LOG_COLUMNS])

    def weights_step(self) -> int | None:
        """The step ``last.safetensors`` records (None when it is missing or unreadable)."""
        try:
            return int(read_metadata(self.weights).get("steps", ""))
        except (CodecError, ValueError):
            return None


STATE_KEYS = ("step", "seconds", "optimizer", "aux_optimizer", "generator", "torch_rng")
MAX_STATE_BYTES = 4 << 30
"""Largest unpacked ``state.pt``: its members are sized before ``torch.load`` reads them."""


def read_state(run: RunFiles, device: str) -> dict[str, Any]:
    """The checkpoint ``state.pt``, refused in one line when it is damaged or not one."""
    fix = "restart the run, or warm start a new one from its weights ({init}last.safetensors)"
    path = run.state
    if not path.exists():
        raise CodecError(f"{run.dir}: nothing to resume (no state.pt)")
    try:
        with open_regular(path, CodecError, expected="a training checkpoint") as handle:
            unpacked = zip_unpacked_size(handle)
            if unpacked is None or unpacked > MAX_STATE_BYTES:
                what = "not a torch checkpoint" if unpacked is None else f"unpacks to {unpacked:,} bytes"
                raise CodecError(f"{path}: damaged ({what}); {fix}")
            handle.seek(0)
            state = torch.load(handle, map_location=device, weights_only=True)
    except CodecError:
        raise
    except pickle.UnpicklingError:
        raise CodecError(f"{path}: holds objects a training state never does; refused, {fix}") from None
    except (OSError, RuntimeError, EOFError, ValueError, io.UnsupportedOperation) as err:
        raise CodecError(f"{path}: damaged ({type(err).__name__}); {fix}") from None
    if not isinstance(state, dict) or any(key not in state for key in STATE_KEYS):
        raise CodecError(f"{path}: not a training state (it lacks {', '.join(STATE_KEYS)}); {fix}")
    return state


def starting_model(cfg: TrainConfig, run: RunFiles, *, state: dict[str, Any] | None = None) -> Any:
    """A fresh model, or the checkpoint's weights on resume, or ``cfg.init``'s warm start.

    ``state`` (from :func:`read_state`) means resume: its own copy of the weights, or for
    an older run ``last.safetensors`` if that records the checkpoint's step.
    """
    model: Any = build_model(cfg.model, cfg.n, cfg.m).to(cfg.device)
    model.train()
    if state is not None:
        if isinstance(state.get("model"), dict):
            tensors, source = state["model"], str(run.state)
        else:
            if not run.weights.exists():
                raise CodecError(f"{run.dir}: nothing to resume (no last.safetensors)")
            recorded = run.weights_step()
            if recorded != int(state["step"]):
                raise CodecError(
                    f"{run.weights} is at step {recorded}, {run.state} at step {int(state['step'])}: the "
                    "checkpoint was cut off between its two files, so the run cannot resume exactly; "
                    "restart it, or warm start a new one from its weights ({init}last.safetensors)"
                )
            tensors, _ = read_safetensors(run.weights)
            source = str(run.weights)
        check_shapes(model, {k: tuple(v.shape) for k, v in tensors.items()}, source)
        load_into(model, tensors, source, strict=True)
        model.train()
    elif cfg.init is not None:
        init_from(model, cfg.init)
    return model


def restore_state(
    state: dict[str, Any], optimizer: Any, aux_optimizer: Any, rank: int, source: Path
) -> tuple[int, float, torch.Tensor, torch.Tensor]:
    """Load the optimizers of the last checkpoint; its step, seconds, crop and noise RNG states."""
    try:
        optimizer.load_state_dict(state["optimizer"])
        aux_optimizer.load_state_dict(state["aux_optimizer"])
        generators = state["generator"]
        crop_rng = generators[rank] if rank < len(generators) else generators[0]
        return int(state["step"]), float(state["seconds"]), crop_rng.cpu(), state["torch_rng"].cpu()
    except (KeyError, ValueError, TypeError, IndexError, AttributeError, RuntimeError) as err:
        why = type(err).__name__
        raise CodecError(f"{source}: the optimizer state does not fit this run ({why})") from None
