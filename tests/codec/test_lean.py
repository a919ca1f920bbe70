"""The codec imports only what it uses of CompressAI (newcomer finding 13).

The mechanism is tested on a toy package (no CompressAI needed); the CompressAI side runs
in fresh interpreters, since what matters is what a process has imported.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

from fpsnr.codec.lean import ENV, UnexpectedPackage, defer_imports, import_lean

HEAVY = ("torchvision", "torch_geometric", "compressai.datasets", "compressai.transforms", "compressai.zoo")


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A package whose __init__ imports a submodule that records when it runs."""

    def make(name: str, heavy_body: str = "RAN = True\n") -> str:
        pkg = tmp_path / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text(
            textwrap.dedent(f"""\
                from {name} import heavy
                from .light import VALUE
                STATE = ["set"]
                def get_state():
                    return STATE
                """)
        )
        (pkg / "heavy.py").write_text(heavy_body)
        (pkg / "light.py").write_text("VALUE = 7\n")
        return name

    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []
    yield lambda name, *a: made.append(make(name, *a)) or name
    for mod in [m for m in sys.modules if m.split(".")[0] in made]:
        del sys.modules[mod]


def _heavy_statement(name: str):
    return lambda node: node.level == 0 and node.module == name


def test_held_back_statement_runs_on_first_missing_name_and_keeps_state(toy):
    name = toy("lean_toy_a")
    pkg = defer_imports(name, _heavy_statement(name))
    assert sys.modules[name] is pkg
    assert f"{name}.heavy" not in sys.modules  # held back
    assert (pkg.VALUE, pkg.get_state()) == (7, ["set"])  # the rest ran as written
    pkg.STATE.append("kept")
    assert pkg.heavy.RAN is True  # asking for the missing name runs the statement…
    assert f"{name}.heavy" in sys.modules
    assert pkg.get_state() == ["set", "kept"]  # …without running the rest again
    assert "__getattr__" not in vars(pkg)
    with pytest.raises(AttributeError):
        _ = pkg.nothing_of_that_name


def test_import_statement_of_user_code_completes_the_package(toy):
    name = toy("lean_toy_b")
    defer_imports(name, _heavy_statement(name))
    exec(f"from {name} import heavy as h\nassert h.RAN", {})


def test_a_failing_held_back_statement_fails_again_next_time(toy):
    name = toy("lean_toy_c", "raise RuntimeError('broken dependency')\n")
    pkg = defer_imports(name, _heavy_statement(name))
    for _ in range(2):  # not an AttributeError the second time: tried again, like an import
        with pytest.raises(RuntimeError, match="broken dependency"):
            _ = pkg.heavy
        sys.modules.pop(f"{name}.heavy", None)


def test_nothing_to_hold_back_imports_nothing(toy):
    name = toy("lean_toy_d")
    with pytest.raises(UnexpectedPackage, match="no import statement to hold back"):
        defer_imports(name, lambda node: node.module == "not_there")
    assert name not in sys.modules


def test_import_lean_imports_the_used_modules_only(toy):
    name = toy("lean_toy_e")
    import_lean(name, {name: _heavy_statement(name)}, [f"{name}.light"])
    assert f"{name}.light" in sys.modules and f"{name}.heavy" not in sys.modules


def test_import_lean_falls_back_to_the_usual_import(toy):
    name = toy("lean_toy_f")
    import_lean(name, {name: lambda node: node.module == "not_there"}, [f"{name}.light"])
    pkg = sys.modules[name]
    assert f"{name}.heavy" in sys.modules and "__getattr__" not in vars(pkg) and pkg.VALUE == 7


def test_import_lean_leaves_an_imported_package_alone(toy):
    name = toy("lean_toy_g")
    pkg = importlib.import_module(name)
    import_lean(name, {name: _heavy_statement(name)}, [f"{name}.light"])
    assert sys.modules[name] is pkg and "__getattr__" not in vars(pkg)


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != ENV} | env
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ,
                          check=True, timeout=180)  # fmt: skip


# A fresh interpreter imports the codec, says which heavy modules that loaded, encodes an
# image, then uses CompressAI as a user of both would (asking it for a held-back name) and
# prints what CompressAI then is.
_SESSION = """
import json, sys
import fpsnr.codec.models
heavy = [m for m in HEAVY if m in sys.modules]
from fpsnr.cli import cli
cli(["codec", "encode", IMAGE, "-o", OUT, "--weights", WEIGHTS], standalone_mode=False)
import compressai, compressai.registry as r
compressai.datasets
print(json.dumps({
    "heavy": heavy,
    "names": sorted(n for n in dir(compressai) if not n.startswith("__")),
    "modules": sorted(m for m in sys.modules if m.startswith("compressai")),
    "registries": {k: sorted(getattr(r, k)) for k in r.__all__ if k.isupper()},
    "coders": compressai.available_entropy_coders(),
    "coder": compressai.get_entropy_coder(),
    "version": compressai.__version__,
}))
"""


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """The session above with the lean import and with CompressAI's own (``FPSNR_COMPRESSAI=full``)."""
    pytest.importorskip("compressai")
    import torch

    from fpsnr.codec.models import build_model
    from fpsnr.codec.weights import save_weights

    folder = tmp_path_factory.mktemp("lean")
    torch.manual_seed(0)
    model = build_model("bmshj2018-hyperprior", 16, 16)
    model.update(force=True)
    weights = folder / "w.safetensors"
    save_weights(model, weights, arch="bmshj2018-hyperprior", lmbda=0.01, distortion="mse", steps=0,
                 data="random init")  # fmt: skip
    image = folder / "x.png"
    cv2.imwrite(str(image), np.random.default_rng(3).integers(0, 256, (64, 96, 3), dtype=np.uint8))
    made = {}
    for mode in ("lean", "full"):
        out = folder / f"{mode}.fpc"
        code = f"HEAVY, IMAGE, OUT, WEIGHTS = {HEAVY!r}, {str(image)!r}, {str(out)!r}, {str(weights)!r}\n"
        done = _python(code + _SESSION, **({ENV: "full"} if mode == "full" else {}))
        made[mode] = {**json.loads(done.stdout.splitlines()[-1]), "stream": out.read_bytes()}
    return made


@pytest.mark.slow
def test_codec_import_leaves_out_torchvision_and_point_clouds(sessions):
    assert sessions["lean"]["heavy"] == []
    assert sessions["full"]["heavy"] == list(HEAVY)  # the same check sees them (it can fail)


@pytest.mark.slow
def test_bitstreams_are_the_same_either_way(sessions):
    assert sessions["lean"]["stream"] == sessions["full"]["stream"]
    assert len(sessions["lean"]["stream"]) > 0


@pytest.mark.slow
def test_compressai_after_the_lean_import_is_compressai(sessions):
    lean, full = ({k: v for k, v in sessions[mode].items() if k not in ("heavy", "stream")}
                  for mode in ("lean", "full"))  # fmt: skip
    assert lean == full
    assert full["registries"]["DATASETS"] and "compressai.zoo" in full["modules"]
