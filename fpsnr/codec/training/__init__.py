"""Training the codec, one module per job: what a run is, its data, the step, its files, DDP, the loop.

:mod:`~.config` (``TrainConfig``, ``Tuning``, run groups), :mod:`~.crops` (photos in
memory, random crops and their discs), :mod:`~.step` (the loss and one optimisation step,
eager, compiled or from CUDA graphs), :mod:`~.checkpoint` (a run's files, exact resume),
:mod:`~.distributed` (torchrun), :mod:`~.loop` (``train``, ``train_many``). ``config`` needs no
torch, so the command line reads its defaults and choices from it; the rest is imported
on first use.
"""

from typing import Any

from fpsnr.codec.training.config import (
    AMP_CHOICES,
    DISTORTIONS,
    TrainConfig,
    Tuning,
    group_name,
    progress_title,
    resume_config,
    resume_configs,
    write_group,
)

_LAZY = {"train": "loop", "train_many": "loop", "graphs_fit": "step"}

__all__ = [
    "AMP_CHOICES",
    "DISTORTIONS",
    "TrainConfig",
    "Tuning",
    "graphs_fit",
    "group_name",
    "progress_title",
    "resume_config",
    "resume_configs",
    "train",
    "train_many",
    "write_group",
]


def __getattr__(name: str) -> Any:
    """``train``, ``train_many`` and ``graphs_fit``, imported (with torch) on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
