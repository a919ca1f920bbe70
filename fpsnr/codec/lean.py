"""Import only the parts of CompressAI the codec uses (newcomer finding 13).

CompressAI 1.2.8's package ``__init__`` imports every one of its submodules, and its
transform registry imports torchvision and torch_geometric (point clouds): 5.4 s of the
9.6 s ``fpsnr codec models`` took here (``benchmarks/bench_startup.py``), for code no
fpsnr command runs. fpsnr needs
``compressai.entropy_models``, ``compressai.layers``, ``compressai.ans`` and
``compressai.models`` (with what they import: ``ops``, ``latent_codecs``,
``registry.torch``, ``typing``).

How: two package ``__init__`` files are run without one import statement each —
``compressai`` without ``from compressai import (datasets, …, zoo)``, and
``compressai.registry`` without ``from .transforms import TRANSFORMS, register_transform``.
Everything else in them runs as written, from CompressAI's own files (the entropy coder
settings, ``__version__``, the model registry). A held-back statement runs, once, the
first time anything asks its package for a name the package does not have yet (a PEP 562
module ``__getattr__``): ``import compressai; compressai.datasets`` or
``compressai.registry.TRANSFORMS`` later in the same process work as always, and pay the
import then. One difference shows before that: CompressAI's registries fill as its modules
are imported, so ``compressai.registry.DATASETS`` and ``CRITERIONS`` are empty, and
``MODELS`` and ``OPTIMIZERS`` lack an entry or two, until something asks ``compressai``
for a submodule (or a name it does not have yet).

A plain ``import compressai`` is used instead when CompressAI is already imported, when
the environment variable ``FPSNR_COMPRESSAI=full`` is set, or when one of those
``__init__`` files does not hold the statement expected (another CompressAI version): then
nothing is held back. ``benchmarks/bench_startup.py`` measures both.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["ENV", "UnexpectedPackage", "defer_imports", "import_compressai", "import_lean"]

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


def import_compressai() -> None:
    """Import what the codec uses of CompressAI, and only that (see the module docstring)."""
    if os.environ.get(ENV) == "full":
        import compressai  # noqa: F401
    else:
        import_lean("compressai", _HELD_BACK, _USED)


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
