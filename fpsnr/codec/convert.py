"""CompressAI checkpoints turned into fpsnr weights files (``fpsnr codec convert``).

A CompressAI ``.pth.tar`` (or its zoo's state dict) is read with ``torch.load`` in
``weights_only`` mode, renamed with CompressAI's own ``remap_old_keys``, and saved with
the metadata of the fpsnr format; an attention model gets an identity attention block,
so it starts as the plain model bit for bit.
"""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import torch

from fpsnr.codec.models import build_model
from fpsnr.codec.weights import (
    WeightsInfo,
    check_channels,
    check_shapes,
    load_into,
    load_weights,
    read_safetensors,
    save_weights,
    warm_start,
)
from fpsnr.errors import CodecError
from fpsnr.files import open_regular
from fpsnr.limits import check_checkpoint_size

__all__ = ["convert_compressai"]


def _read_compressai(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        tensors, _ = read_safetensors(path)
        return tensors
    try:
        with open_regular(path, CodecError, noun="checkpoint", expected="a PyTorch checkpoint") as handle:
            check_checkpoint_size(handle, path, CodecError)
            # weights_only=True: tensors and plain containers only, never arbitrary objects
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's warnings add lines, not information
                raw = torch.load(handle, map_location="cpu", weights_only=True)
    except CodecError:
        raise
    except pickle.UnpicklingError as err:
        # torch's own message goes on to suggest weights_only=False: never the advice for a
        # file refused for holding code.
        raise CodecError(
            f"{path}: holds Python objects other than tensors (code or classes), which fpsnr never "
            "loads; use a checkpoint of plain tensors (a state dict)"
        ) from err
    except Exception as err:  # torch raises many types for foreign files
        raise CodecError(
            f"{path}: cannot read as a PyTorch state dict ({type(err).__name__}: {err})"
        ) from err
    if isinstance(raw, dict) and isinstance(raw.get("state_dict"), dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise CodecError(f"{path}: expected a state dict of tensors")
    from compressai.models.utils import remap_old_keys
    from compressai.zoo.pretrained import load_pretrained

    # CompressAI's own renaming of older checkpoints (its published ones among them):
    # "module." prefixes, and the entropy bottleneck's _matrix0/_bias0/_factor0 names.
    return dict(remap_old_keys("entropy_bottleneck", load_pretrained(raw)))


def convert_compressai(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    arch: str = "bmshj2018-hyperprior",
    lmbda: float,
    distortion: str = "mse",
    steps: int = 0,
    data: str = "unknown",
    half: bool = False,
    metadata: dict[str, str] | None = None,
) -> WeightsInfo:
    """Convert a CompressAI ``bmshj2018-hyperprior`` state dict into an fpsnr weights file.

    ``source`` is a ``.safetensors`` file or a ``.pth``/``.pt`` state dict (read with
    ``torch.load(weights_only=True)``, which refuses pickled code). With
    ``arch="bmshj2018-hyperprior-attn"`` the baseline weights go into the attention
    model and its attention blocks start as the identity
    (:meth:`~fpsnr.codec.models.AttentionScaleHyperprior.make_identity_attention`): the
    converted model computes exactly what the plain one does, a sound start for
    fine-tuning.
    """
    src = Path(source)
    tensors = _read_compressai(src)
    try:
        n = int(tensors["g_a.0.weight"].shape[0])
        m = int(tensors["g_a.6.weight"].shape[0])
    except (KeyError, IndexError) as err:
        raise CodecError(f"{src}: not a bmshj2018-hyperprior state dict (no {err.args[0]})") from err
    shapes = {key: tuple(value.shape) for key, value in tensors.items()}
    check_channels(shapes, n, m, str(src))
    model = build_model(arch, n, m)
    check_shapes(model, shapes, str(src))
    extra = None
    if arch == "bmshj2018-hyperprior":
        load_into(model, tensors, str(src), strict=True)
    elif warm_start(model, tensors, str(src)):
        extra = {"init": "attention identity (computes the plain model's function)"}
    extra = {**(extra or {}), **(metadata or {})}
    save_weights(
        model, target, arch=arch, lmbda=lmbda, distortion=distortion, steps=steps, data=data, half=half,
        extra=extra or None,
    )  # fmt: skip
    return load_weights(target, arch)[1]
