"""Every reach into CompressAI, in one private module, each held by a contract test.

fpsnr uses CompressAI's public contract where it can: a model's ``compress`` →
``{"strings", "shape"}`` and ``decompress`` → ``{"x_hat"}``, ``downsampling_factor``,
``update()``, ``remap_old_keys``. What reaches past it lives here, and
``tests/codec/test_compressai.py`` holds each reach against CompressAI's own function on
a tiny model, so a version bump shows at once what moved:

- :func:`compress` / :func:`decompress` — the public ones, plus the scale indexes the
  desync check needs (one extra hyper-synthesis ``h_s`` on the decoded ẑ);
- :func:`isolate_decoders` — the rANS decoder swapped for one in a child process
  (CompressAI's private ``entropy_coder._decoder``), installed once at load;
- :func:`without_host_syncs` — ``EntropyBottleneck.forward`` with the permutation as
  Python ints (private ``_get_medians``, ``_likelihood``);
- :func:`keep_float32_islands` — what stays float32 under bf16 autocast (GDN, the
  entropy models, the last convolution of each transform);
- :data:`CONSTANT_SUFFIXES`, :data:`TABLE_SUFFIXES` — CompressAI's buffer names;
- :func:`import_lean` and :func:`import_for_command` — the ``fpsnr`` command imports only
  the part of CompressAI it uses (below);
- :func:`version_note` — one line when the installed CompressAI is not the version these
  reaches were verified against (:data:`VERIFIED_VERSION`).

The lean import. CompressAI 1.2.8's package ``__init__`` imports every one of its
submodules, and its transform registry imports torchvision and torch_geometric (point
clouds): 5.4 s of the 9.6 s ``fpsnr codec models`` took (``benchmarks/bench_startup.py``).
The codec needs ``compressai.entropy_models``, ``layers``, ``ans`` and ``models``. Two
package ``__init__`` files are run without one import statement each — ``compressai``
without ``from compressai import (datasets, …, zoo)``, ``compressai.registry`` without
``from .transforms import …`` — and a held-back statement runs, once, the first time its
package is asked for a name it lacks (PEP 562 ``__getattr__``). Until then CompressAI's
registries lack the entries those modules add. That is a change to a third-party
package's observable state, so only the ``fpsnr`` command's own process does it
(:func:`import_for_command`); a library user's ``import fpsnr.codec`` gets CompressAI as
CompressAI imports itself. A plain import is used instead when CompressAI is already
imported, when ``FPSNR_COMPRESSAI=full`` is set, or when either ``__init__`` file does not
hold the statement expected (another version).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "CONSTANT_SUFFIXES",
    "ENV",
    "TABLE_SUFFIXES",
    "VERIFIED_VERSION",
    "UnexpectedPackage",
    "ans_extension",
    "bound_latents",
    "compress",
    "decompress",
    "defer_imports",
    "downsampling_factor",
    "import_for_command",
    "import_for_library",
    "import_lean",
    "isolate_decoders",
    "keep_float32_islands",
    "scale_indexes",
    "version_note",
    "without_host_syncs",
]

VERIFIED_VERSION = "1.2.8"
"""The CompressAI release every reach below was verified against (the ``codec`` extra's pin)."""

CONSTANT_SUFFIXES = ("likelihood_lower_bound.bound", "lower_bound_scale.bound", "scale_bound", "target")
"""Buffers CompressAI's entropy models hold as constants (the same in every trained model)."""
TABLE_SUFFIXES = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")
"""Buffers ``update()`` fills from the learned densities, whose shapes follow the training."""

ENV = "FPSNR_COMPRESSAI"
"""Set to ``full`` for CompressAI's own package import (everything, at once)."""

Deferred = Callable[[ast.ImportFrom], bool]

_HELD_BACK: dict[str, Deferred] = {
    "compressai": lambda node: node.level == 0 and node.module == "compressai",
    "compressai.registry": lambda node: node.level == 1 and node.module == "transforms",
}
_USED = ("compressai.entropy_models", "compressai.layers", "compressai.ans", "compressai.models")


class UnexpectedPackage(ImportError):
    """A package ``__init__`` does not have the import statements to hold back."""


def import_for_command() -> None:
    """In the ``fpsnr`` command's process: import only what the codec uses of CompressAI."""
    if os.environ.get(ENV) == "full":
        import_for_library()
    else:
        with warnings.catch_warnings():
            # compressai 1.2.8 calls torch.jit.script at import; torch ≥ 2.10 warns about it
            warnings.simplefilter("ignore", FutureWarning)
            import_lean("compressai", _HELD_BACK, _USED)


def import_for_library() -> None:
    """Import CompressAI as CompressAI imports itself (a library user's process)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import compressai  # noqa: F401


def version_note() -> str | None:
    """One line when the installed CompressAI is not :data:`VERIFIED_VERSION`, else None."""
    import compressai

    version = getattr(compressai, "__version__", "unknown")
    if version == VERIFIED_VERSION:
        return None
    return (
        f"CompressAI {version} is installed; fpsnr's codec was verified with {VERIFIED_VERSION} "
        "(tests/codec/test_compressai.py checks what it relies on)"
    )


def import_lean(package: str, held_back: dict[str, Deferred], used: Sequence[str]) -> None:
    """Import the modules ``used`` of ``package``, holding back statements of its packages.

    :func:`defer_imports` runs for each package in ``held_back``, in that order, then the
    ``used`` modules are imported. The whole package is imported the usual way instead
    when it is imported already, or when any of that fails.
    """
    if package not in sys.modules:
        try:
            for name, statements in held_back.items():
                defer_imports(name, statements)
            for name in used:
                importlib.import_module(name)
            return
        except Exception:
            # Whatever went wrong, the package's own import decides: it works, or it
            # raises the error a user would see without fpsnr.
            for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
                del sys.modules[name]
    importlib.import_module(package)


def defer_imports(name: str, held_back: Deferred) -> ModuleType:
    """Import package ``name`` without some top-level ``from … import`` statements.

    Those for which ``held_back`` is true run when the package is first asked for a name it
    lacks. Its parent package must be imported already. Raises :class:`UnexpectedPackage`
    (and imports nothing) when no statement is held back.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or spec.loader is None or not spec.submodule_search_locations:
        raise UnexpectedPackage(f"{name} is not a package with an __init__ file", name=name)
    origin = spec.origin
    tree = ast.parse(Path(origin).read_bytes(), origin)
    later: list[ast.stmt] = [n for n in tree.body if isinstance(n, ast.ImportFrom) and held_back(n)]
    if not later:
        raise UnexpectedPackage(f"{name}: no import statement to hold back", name=name)
    now, rest = (compile(ast.Module(body, type_ignores=[]), origin, "exec")
                 for body in ([n for n in tree.body if n not in later], later))  # fmt: skip
    module = importlib.util.module_from_spec(spec)

    def complete(attr: str) -> Any:
        del module.__dict__["__getattr__"]
        try:
            exec(rest, module.__dict__)
        except BaseException:
            module.__dict__["__getattr__"] = complete  # tried again next time, like a failed import
            raise
        return getattr(module, attr)

    module.__dict__["__getattr__"] = complete
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    try:
        if parent:
            setattr(sys.modules[parent], child, module)
        exec(now, module.__dict__)
    except BaseException:
        del sys.modules[name]
        if parent:
            vars(sys.modules[parent]).pop(child, None)
        raise
    return module


# --------------------------------------------------------------------------- coding


def downsampling_factor(model: Any) -> int:
    """The model's total downsampling (CompressAI's ``downsampling_factor``: 64 for these)."""
    return int(model.downsampling_factor)


def scale_indexes(model: Any, z_hat: Any) -> Any:
    """The Gaussian-conditional scale indexes derived from ẑ (what desync detection checks)."""
    return model.gaussian_conditional.build_indexes(model.h_s(z_hat))


def compress(model: Any, x: Any) -> tuple[bytes, bytes, Any]:
    """``model.compress`` of a padded batch of one: the z and y strings, and the indexes.

    The indexes cost one extra ``h_s`` on the decoded ẑ (CompressAI computes and drops them).
    """
    out = model.compress(x)
    (y_string,), (z_string,) = out["strings"]
    z_hat = model.entropy_bottleneck.decompress([z_string], out["shape"])
    return z_string, y_string, scale_indexes(model, z_hat)


def decompress(
    model: Any, z_string: bytes, y_string: bytes, shape: tuple[int, int], check: Callable[[Any], None]
) -> Any:
    """``model.decompress``, after ``check(indexes)`` has accepted the indexes from ẑ.

    ``check`` raises to refuse decoding y (a desync). The z string is decoded twice, once
    here and once inside CompressAI's ``decompress``.
    """
    z_hat = model.entropy_bottleneck.decompress([z_string], shape)
    check(scale_indexes(model, z_hat))
    return model.decompress([[y_string], [z_string]], shape)["x_hat"]


# --------------------------------------------------------------------------- decoding in a child


def ans_extension() -> str:
    """The file of CompressAI's compiled rANS module (``compressai.ans``)."""
    spec = importlib.util.find_spec("compressai.ans")
    if spec is None or spec.origin is None:  # pragma: no cover - the codec extra always has it
        raise ImportError("CompressAI's rANS decoder (compressai.ans) is not installed", name="compressai")
    return spec.origin


def isolate_decoders(model: Any, make_decoder: Callable[[], Any]) -> None:
    """Make every entropy model of ``model`` decode through ``make_decoder()``.

    CompressAI keeps the decoder in the private ``_EntropyCoder._decoder``; this replaces
    it for good (call once, where the model is loaded).
    """
    for module in model.modules():
        coder = getattr(module, "entropy_coder", None)
        if coder is not None and hasattr(coder, "_decoder"):
            coder._decoder = make_decoder()


def bound_latents(model: Any, limit: float, refuse: Callable[[str], Exception]) -> None:
    """Refuse to entropy-code a latent that is not finite or beyond ``limit`` in magnitude.

    Hooks on the analysis transforms ``g_a`` (y) and ``h_a`` (z) check their outputs,
    one pass each, before CompressAI's rANS encoder sees them (which never returns on a
    NaN). ``refuse(message)`` makes the exception raised.
    """

    def check(name: str) -> Callable[..., None]:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            peak = float(output.detach().abs().amax()) if output.numel() else 0.0
            if not (peak <= limit):  # NaN fails this too
                what = "non-finite values" if not math.isfinite(peak) else f"values up to {peak:.3g}"
                raise refuse(f"the weights' {name} produced {what} (limit {limit:g}); they cannot code")

        return hook

    for name in ("g_a", "h_a"):
        transform = getattr(model, name, None)
        if transform is not None:
            transform.register_forward_hook(check(name))


# --------------------------------------------------------------------------- training


def _bottleneck_forward(module: Any, x: Any, training: bool | None = None) -> tuple[Any, Any]:
    """CompressAI's ``EntropyBottleneck.forward`` with the axis permutation as Python ints.

    CompressAI 1.2.8 builds the permutation as a tensor on ``x``'s device and passes it to
    ``permute``, which reads every element back: on a GPU, four host syncs per call (and a
    host-to-device copy that CUDA graph capture refuses). The arithmetic is the same.
    """
    if training is None:
        training = module.training
    perm = (1, 0, *range(2, x.ndim))  # B × C × … ↔ C × B × …, its own inverse
    x = x.permute(*perm).contiguous()
    shape = x.size()
    values = x.reshape(x.size(0), 1, -1)
    outputs = module.quantize(values, "noise" if training else "dequantize", module._get_medians())
    likelihood, _, _ = module._likelihood(outputs)
    if module.use_likelihood_bound:
        likelihood = module.likelihood_lower_bound(likelihood)
    outputs = outputs.reshape(shape).permute(*perm).contiguous()
    likelihood = likelihood.reshape(shape).permute(*perm).contiguous()
    return outputs, likelihood


def without_host_syncs(model: Any) -> Any:
    """Give the model's entropy bottlenecks a forward pass that never waits for the device.

    Same results bit for bit (see :func:`_bottleneck_forward`); used by training, where a
    GPU otherwise idles at every bottleneck call. Returns ``model``.
    """
    from compressai.entropy_models import EntropyBottleneck

    for module in model.modules():
        if isinstance(module, EntropyBottleneck):
            module.forward = _bottleneck_forward.__get__(module)
    return model


def _keep_float32(module: Any, device_type: str) -> None:
    """Run ``module`` in float32 with autocast off, whatever autocast its caller has on."""
    import torch

    inner = module.forward

    def forward(*args: Any, **kwargs: Any) -> Any:
        with torch.autocast(device_type, enabled=False):
            floats = (a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args)
            return inner(*floats, **kwargs)

    module.forward = forward


def keep_float32_islands(model: Any, device_type: str, also: tuple[type, ...] = ()) -> None:
    """Mark what stays float32 under bf16 autocast.

    GDN (a square root of a sum of squares), the entropy models (likelihoods of values near
    the quantisation step), the modules of type ``also``, and the last convolution of each
    of g_a, h_a, h_s, g_s (the layers producing y, z, the scales and x̂).
    """
    import torch
    from compressai.entropy_models import EntropyBottleneck, GaussianConditional
    from compressai.layers import GDN

    kinds = (GDN, EntropyBottleneck, GaussianConditional, *also)
    for module in model.modules():
        if isinstance(module, kinds):
            _keep_float32(module, device_type)
    for name in ("g_a", "h_a", "h_s", "g_s"):
        layers = getattr(model, name).modules()
        convs = [m for m in layers if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)]
        _keep_float32(convs[-1], device_type)
