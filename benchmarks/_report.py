"""The lines every benchmark ends with: a figure, its target, held or missed (SPEC §6).

Each benchmark's ``main`` prints its measurements, then :func:`report` prints one line
per ratio; ``--json PATH`` also writes them there, for ``benchmarks/run_all.py``.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import json
import operator
import os
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple


class Ratio(NamedTuple):
    """One measured ratio; ``op`` None where SPEC sets no target (the figure is shown alone)."""

    name: str
    value: float
    op: str | None  # "<=", ">=" or None
    target: float | None = None

    @property
    def held(self) -> bool | None:
        if self.op is None or self.target is None:
            return None
        return bool({"<=": operator.le, ">=": operator.ge}[self.op](self.value, self.target))

    def line(self) -> str:
        if self.held is None:
            return f"{self.name:62s} {self.value:8.2f}   no target in SPEC"
        verdict = "held" if self.held else "MISSED"
        return f"{self.name:62s} {self.value:8.2f}   target {self.op} {self.target:<5g} {verdict}"


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, help="also write the ratios to this file (for run_all.py)")


def report(ratios: list[Ratio], json_path: Path | None) -> None:
    print()
    for ratio in ratios:
        print(ratio.line())
    if json_path is not None:
        rows = [r._asdict() | {"held": r.held} for r in ratios]
        json_path.write_text(json.dumps(rows, indent=1), encoding="utf-8")


@functools.cache
def _bytecode_folder() -> str:
    folder = tempfile.mkdtemp(prefix="fpsnr-bench-pycache-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def installed_env() -> dict[str, str]:
    """The environment for a whole-process run, Python's bytecode cache on, as installed packages run.

    ``pip install`` compiles a package's modules once; a machine (a CI image, this project's
    development box) may set ``PYTHONDONTWRITEBYTECODE``, and then every start would compile
    fpsnr's modules from source, a cost no installed copy pays. Whole-process benchmarks run
    their commands — fpsnr's and the Python baselines alike — with the cache on in a private
    folder (``PYTHONPYCACHEPREFIX``, removed at exit, so the source tree is never written),
    after one uncounted run of each command that fills it.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": _bytecode_folder()}
