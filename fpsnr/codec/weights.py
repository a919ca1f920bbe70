"""Codec weights in safetensors files with metadata; never unpickled.

An fpsnr weights file is a safetensors file whose metadata holds ``format:
fpsnr-weights`` plus ``arch``, ``N``, ``M``, ``lmbda``, ``distortion``, ``steps``,
``data`` and ``fpsnr_version``. Floating tensors may be stored as float16 (shipped
defaults) and are cast back to float32. The entropy models' constant bounds do not
survive float16 (1e-9 underflows to 0), so they are always taken from a fresh model,
and :meth:`update(force=True)` rebuilds the CDF tables after every load.

The weights identifier written into bitstreams comes from what decides decoding, not
from the file's bytes (:func:`content_id`): the architecture, N and M, and every
tensor's name, shape and values (floating tensors as float32, so float16 and float32
copies of the same values are one id). Two conversions of one checkpoint, on any
machine, make the same id, and decoding with other weights is refused instead of
producing garbage. Bitstreams written before 2026-12 carry the first 8 bytes of the
file's SHA-256 instead; that id is accepted too (:meth:`WeightsInfo.accepts`), so they
keep decoding with the weights that made them. Files are written byte-identical for
identical input: safetensors writes its header's keys in a random order (a Rust hash
map), so :func:`save_weights` rewrites the header with sorted keys.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from fpsnr.codec._compressai import CONSTANT_SUFFIXES, TABLE_SUFFIXES, bound_latents, isolate_decoders
from fpsnr.codec.isolation import IsolatedRansDecoder
from fpsnr.codec.models import build_model, get_spec
from fpsnr.errors import CodecError
from fpsnr.files import open_regular, save_atomic, sha256_of
from fpsnr.limits import MAX_CDF_LENGTH, MAX_CODEC_CHANNELS, MAX_LATENT

__all__ = [
    "WeightsInfo",
    "check_channels",
    "check_shapes",
    "content_id",
    "default_weights",
    "load_into",
    "load_weights",
    "read_metadata",
    "read_safetensors",
    "save_weights",
    "warm_start",
]

FORMAT = "fpsnr-weights"
REQUIRED = ("arch", "N", "M", "lmbda", "distortion", "steps", "data", "fpsnr_version")


@dataclass(frozen=True)
class WeightsInfo:
    """What a weights file says about itself."""

    path: str
    weights_id: bytes
    arch: str
    n: int
    m: int
    lmbda: float
    distortion: str
    steps: int
    data: str
    metadata: dict[str, str]
    file_id: bytes = b""
    """The id bitstreams written before 2026-12 carry: 8 bytes of the file's SHA-256."""

    @property
    def id_hex(self) -> str:
        return self.weights_id.hex()

    def accepts(self, weights_id: bytes) -> bool:
        """Whether a bitstream with this weights id was made with these weights."""
        return weights_id == self.weights_id or (bool(self.file_id) and weights_id == self.file_id)


def content_id(arch: str, n: int, m: int, tensors: dict[str, torch.Tensor]) -> bytes:
    """8 bytes of SHA-256 over the architecture and every tensor's name, shape and values.

    Floating tensors are hashed as little-endian float32 (the precision they decode in),
    others as stored; tensors in name order.
    """
    import hashlib

    digest = hashlib.sha256()
    digest.update(json.dumps({"arch": arch, "N": n, "M": m}, sort_keys=True).encode("utf-8"))
    for name in sorted(tensors):
        tensor = tensors[name].detach().to("cpu")
        if tensor.is_floating_point():
            tensor = tensor.to(torch.float32)
        head = {"name": name, "dtype": str(tensor.dtype), "shape": list(tensor.shape)}
        digest.update(json.dumps(head, sort_keys=True).encode("utf-8"))
        values = tensor.contiguous().numpy()
        digest.update(values.astype(values.dtype.newbyteorder("<"), copy=False).tobytes())
    return digest.digest()[:8]


def _file_id(path: Path) -> bytes:
    with path.open("rb") as handle:
        return sha256_of(handle)[:8]


_T = TypeVar("_T")


def _reading(path: Path, read: Callable[[Any], _T]) -> _T:
    """``read(handle)`` on the opened safetensors file; a missing or unreadable file is one CodecError."""
    with open_regular(path, CodecError, noun="weights file", expected="a weights file (.safetensors)"):
        pass  # a device or a pipe in its place: safetensors would hang on a FIFO
    try:
        with safe_open(str(path), framework="pt") as handle:  # type: ignore[no-untyped-call]
            return read(handle)
    except FileNotFoundError as err:
        raise CodecError(f"{path}: no such weights file") from err
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CodecError(f"{path}: not a readable safetensors file ({err})") from err


def _read_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor of a safetensors file, from its header (no tensor is read)."""
    return _reading(path, lambda handle: {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()})


def check_channels(shapes: dict[str, tuple[int, ...]], n: int, m: int, source: str) -> None:
    """Refuse N, M beyond the budget, or tensors that do not hold them, before a model is built.

    Building a model allocates about 25·N² + 34·M·N floats. These four tensors of the
    file hold a good share of that, so once they match the declared N and M, building
    costs a small multiple of the file's own size — never gigabytes for a few bytes.
    """
    if not (1 <= n <= MAX_CODEC_CHANNELS and 1 <= m <= MAX_CODEC_CHANNELS):
        raise CodecError(f"{source}: N={n}, M={m}; fpsnr builds models of 1 to {MAX_CODEC_CHANNELS} channels")
    needed = {
        "g_a.0.weight": (n, 3, 5, 5),
        "g_a.2.weight": (n, n, 5, 5),
        "g_a.6.weight": (m, n, 5, 5),
        "h_a.0.weight": (n, m, 3, 3),
    }
    for key, shape in needed.items():
        got = shapes.get(key)
        if got != shape:
            what = "is missing" if got is None else f"has shape {got}"
            raise CodecError(f"{source}: {key} {what}; a model with N={n}, M={m} needs {shape}")


def check_shapes(model: nn.Module, shapes: dict[str, tuple[int, ...]], source: str) -> None:
    """Name the first tensor whose shape differs from the model's (CDF tables vary: skipped)."""
    for key, value in model.state_dict().items():
        if key in shapes and not key.endswith(TABLE_SUFFIXES) and shapes[key] != tuple(value.shape):
            raise CodecError(
                f"{source}: weights do not fit the model: {key} has shape {shapes[key]}, "
                f"the model needs {tuple(value.shape)}"
            )


def read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    return _reading(path, lambda handle: (
        {key: handle.get_tensor(key) for key in handle.keys()}, dict(handle.metadata() or {})
    ))  # fmt: skip


def check_values(tensors: dict[str, torch.Tensor], source: str) -> None:
    """Refuse weights whose values, not shapes, would break coding (reliability G7, G8).

    A NaN or inf anywhere makes CompressAI's rANS encoder loop for ever; an entropy
    bottleneck's ``quantiles`` set the length of the CDF tables ``update()`` builds, so
    they are bounded by :data:`~fpsnr.limits.MAX_CDF_LENGTH` symbols. The tables
    themselves are rebuilt from the densities and not checked.
    """
    for key, value in tensors.items():
        if key.endswith(TABLE_SUFFIXES) or not value.is_floating_point():
            continue
        if not bool(torch.isfinite(value).all()):
            raise CodecError(f"{source}: {key} holds NaN or infinite values; these weights cannot code")
        if key.endswith(".quantiles") and value.ndim == 3 and value.shape[-1] == 3:
            q = value.detach().to(torch.float64)
            median = q[:, 0, 1]
            span = (median - q[:, 0, 0]).ceil().clamp(min=0) + (q[:, 0, 2] - median).ceil().clamp(min=0) + 1
            widest = float(span.max()) if span.numel() else 0.0
            if widest > MAX_CDF_LENGTH:
                raise CodecError(
                    f"{source}: {key} spans {widest:,.0f} symbols, more than the {MAX_CDF_LENGTH:,} "
                    "fpsnr allows (trained models span about 50); damaged or hostile weights"
                )


def load_into(model: nn.Module, tensors: dict[str, torch.Tensor], source: str, *, strict: bool) -> None:
    check_values(tensors, source)
    fresh = model.state_dict()
    state = {}
    for key, value in tensors.items():
        if key.endswith(CONSTANT_SUFFIXES) and key in fresh:
            state[key] = fresh[key]
        elif value.is_floating_point():
            state[key] = value.to(torch.float32)
        else:
            state[key] = value
    try:
        result = model.load_state_dict(state, strict=strict)
    except (RuntimeError, KeyError, ValueError) as err:
        first = str(err).strip().splitlines()[0]
        raise CodecError(f"{source}: weights do not fit the model ({first})") from err
    if not strict:
        unexpected = list(result.unexpected_keys)
        if unexpected:
            raise CodecError(f"{source}: unexpected tensors {unexpected[:3]} for this model")
    model.update(force=True)  # type: ignore[operator]
    model.eval()


def warm_start(model: nn.Module, tensors: dict[str, torch.Tensor], source: str) -> bool:
    """Load ``tensors`` into ``model`` to start from; True when attention starts as the identity.

    Every tensor of the model outside its attention blocks must be given. An attention
    model given plain weights gets identity attention blocks
    (:meth:`~fpsnr.codec.models.AttentionScaleHyperprior.make_identity_attention`), so it
    computes exactly what the plain model does: a sound start for training.
    """
    missing = [k for k in model.state_dict() if k not in tensors and ".attn." not in k]
    if missing:
        raise CodecError(f"{source}: cannot start this model from these weights (they lack {missing[:3]})")
    load_into(model, tensors, source, strict=False)
    identity = getattr(model, "make_identity_attention", None)
    if identity is None or any(".attn." in k for k in tensors):
        return False
    identity()
    model.update(force=True)  # type: ignore[operator]
    return True


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """A weights file's metadata, without reading its tensors."""
    return _reading(Path(path), lambda handle: dict(handle.metadata() or {}))


def default_weights(model: str) -> Path:
    """The weights shipped inside the package for a registered model.

    Raises :class:`CodecError` (one line, with the fix) when the model has none or a
    broken installation lost the file.
    """
    spec = get_spec(model)
    if spec.default_weights is None:
        raise CodecError(f"model {model!r} has no default weights; pass {{weights}}")
    path = spec.default_weights.path
    if not path.is_file():
        raise CodecError(
            f"the default weights of {model} are missing from this installation ({path}); "
            "reinstall fpsnr with the codec extra, or pass {weights}"
        )
    return path


def load_weights(path: str | os.PathLike[str], model: str | None = None) -> tuple[nn.Module, WeightsInfo]:
    """Build the model a weights file describes and load it, ready to code.

    ``model`` (a registry name), when given, must match the file's ``arch``. The model's
    rANS decoders run in a child process (:mod:`fpsnr.codec.isolation`): a crafted
    bitstream cannot crash the caller. Names (a model's default weights, pretrained
    weights) are resolved by :func:`fpsnr.codec.load`.
    """
    p = Path(path)
    metadata = read_metadata(p)
    if metadata.get("format") != FORMAT:
        raise CodecError(
            f"{p}: not an fpsnr weights file (no 'format: {FORMAT}' metadata); "
            "convert a CompressAI checkpoint with: fpsnr codec convert"
        )
    missing = [k for k in REQUIRED if k not in metadata]
    if missing:
        raise CodecError(f"{p}: weights metadata lacks {', '.join(missing)}")
    arch = metadata["arch"]
    spec = get_spec(arch)
    if model is not None and model != arch:
        raise CodecError(f"{p}: these are weights of {arch!r}, not of {model!r}")
    try:
        n, m = int(metadata["N"]), int(metadata["M"])
        lmbda = float(metadata["lmbda"])
        steps = int(metadata["steps"])
    except ValueError as err:
        raise CodecError(f"{p}: malformed weights metadata ({err})") from err
    shapes = _read_shapes(p)
    check_channels(shapes, n, m, str(p))  # before any tensor is read or any model built
    tensors, _ = read_safetensors(p)
    net = build_model(spec.name, n, m)
    check_shapes(net, shapes, str(p))
    load_into(net, tensors, str(p), strict=True)
    isolate_decoders(net, IsolatedRansDecoder)
    bound_latents(net, MAX_LATENT, CodecError)
    info = WeightsInfo(
        path=str(p),
        weights_id=content_id(arch, n, m, tensors),
        file_id=_file_id(p),
        arch=arch,
        n=n,
        m=m,
        lmbda=lmbda,
        distortion=metadata["distortion"],
        steps=steps,
        data=metadata["data"],
        metadata=metadata,
    )
    return net, info


def save_weights(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    arch: str,
    lmbda: float,
    distortion: str,
    steps: int,
    data: str,
    half: bool = False,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write a model's weights and metadata (``half`` stores floats as float16)."""
    from fpsnr import __version__

    spec = get_spec(arch)
    state = {}
    for key, value in model.state_dict().items():
        tensor = value.detach().to("cpu").contiguous()
        if half and tensor.is_floating_point():
            tensor = tensor.to(torch.float16)
        state[key] = tensor.clone()
    metadata = {
        "format": FORMAT,
        "arch": spec.name,
        "N": str(int(getattr(model, "N", 0))),
        "M": str(int(getattr(model, "M", 0))),
        "lmbda": repr(float(lmbda)),
        "distortion": distortion,
        "steps": str(int(steps)),
        "data": data,
        "fpsnr_version": __version__,
        "dtype": "float16" if half else "float32",
    }
    for key, value in (extra or {}).items():
        metadata[key] = value if isinstance(value, str) else json.dumps(value)
    def save(tmp: Path) -> None:
        save_file(state, str(tmp), metadata=metadata)
        _canonical_header(tmp)

    save_atomic(path, save)


def _canonical_header(path: Path) -> None:
    """Rewrite a safetensors file's JSON header with sorted keys, the same length.

    safetensors serialises its header from a hash map, so the key order (and the file's
    bytes) changed from run to run; the tensor data and its offsets are untouched.
    """
    with path.open("r+b") as handle:
        size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(size))
        text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
        if len(text) > size:  # never: the same keys and values, written compactly
            raise CodecError(f"{path}: safetensors header grew when sorted")
        handle.seek(8)
        handle.write(text + b" " * (size - len(text)))
