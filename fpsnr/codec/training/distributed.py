"""Training under ``torchrun``: one process per device, gloo on the CPU and NCCL on CUDA.

The model is wrapped in DistributedDataParallel; each rank draws its own crops and rank 0
writes the run. ``--device cuda`` is each process's ``cuda:LOCAL_RANK``.
"""

from __future__ import annotations

import os
from typing import Any

import torch

__all__ = ["average_aux_gradients", "init_distributed", "wrap_distributed"]


def init_distributed(device: str) -> tuple[int, int]:
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


def wrap_distributed(model: Any, world: int) -> Any:
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


def average_aux_gradients(aux_params: list[torch.nn.Parameter], world: int) -> None:
    if world <= 1:
        return
    import torch.distributed as dist

    for p in aux_params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world
