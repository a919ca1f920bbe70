"""Every reach into CompressAI (fpsnr.codec._compressai), held against CompressAI's own function.

One test (or a few) per reach, on a tiny N = M = 16 model: these are what a CompressAI
version bump must pass. The lean import's mechanism is tested on a toy package (no
CompressAI needed); its CompressAI side runs in fresh interpreters, since what matters is
what a process has imported (newcomer finding 13 of November: the codec commands' start-up).
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

from fpsnr.codec._compressai import ENV, UnexpectedPackage, defer_imports, import_lean

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


# A fresh interpreter runs the fpsnr command (encodes an image), says which heavy modules
# that loaded, then uses CompressAI as a user of both would (asking it for a held-back
# name) and prints what CompressAI then is.
_SESSION = """
import json, sys
from fpsnr.cli import cli
cli(["codec", "encode", IMAGE, "-o", OUT, "--weights", WEIGHTS], standalone_mode=False)
heavy = [m for m in HEAVY if m in sys.modules]
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
def test_a_library_import_gets_compressai_as_compressai_imports_itself():
    pytest.importorskip("compressai")
    code = (
        f"import json, sys\nimport fpsnr.codec.models\nimport compressai.registry as r\n"
        f"print(json.dumps([[m for m in {HEAVY!r} if m in sys.modules], sorted(r.DATASETS)]))"
    )
    heavy, datasets = json.loads(_python(code).stdout.splitlines()[-1])
    assert heavy == list(HEAVY) and datasets  # nothing held back, registries full


@pytest.mark.slow
def test_the_command_leaves_out_torchvision_and_point_clouds(sessions):
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


# --------------------------------------------------------------------------- the contract tests
# Each reach into CompressAI against CompressAI's own function, on a tiny N = M = 16 model.


@pytest.fixture(scope="module")
def tiny():
    """A tiny plain model with its CDF tables, and a 64 × 128 image tensor (padded, as coded)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("compressai")
    from fpsnr.codec.models import build_model

    torch.manual_seed(0)
    model = build_model("bmshj2018-hyperprior", 16, 16)
    model.update(force=True)
    x = torch.rand(1, 3, 64, 128, generator=torch.Generator().manual_seed(1))
    return model, x


def _native(model):
    """The model with CompressAI's own rANS decoders (load_weights installs isolated ones)."""
    from compressai.ans import RansDecoder

    from fpsnr.codec._compressai import isolate_decoders

    isolate_decoders(model, RansDecoder)
    return model


def test_the_verified_version_is_the_installed_one_or_one_line_says_so(monkeypatch):
    compressai = pytest.importorskip("compressai")
    from fpsnr.codec._compressai import VERIFIED_VERSION, version_note

    assert VERIFIED_VERSION == compressai.__version__ and version_note() is None
    monkeypatch.setattr(compressai, "__version__", "9.9.9")
    note = version_note()
    assert note is not None and "CompressAI 9.9.9 is installed" in note and "\n" not in note


def test_compress_gives_compressai_s_strings_and_the_indexes_its_decompress_uses(tiny):
    import torch

    from fpsnr.codec._compressai import compress

    model, x = tiny
    with torch.no_grad():
        theirs = model.compress(x)
        z, y, indexes = compress(model, x)
        assert [[y], [z]] == theirs["strings"]
        seen = []
        real = model.gaussian_conditional.decompress

        def spy(strings, idx, *args, **kwargs):
            seen.append(idx.clone())
            return real(strings, idx, *args, **kwargs)

        model.gaussian_conditional.decompress = spy
        try:
            _native(model).decompress(theirs["strings"], theirs["shape"])
        finally:
            del model.gaussian_conditional.decompress
    assert len(seen) == 1 and torch.equal(seen[0], indexes)


def test_decompress_is_compressai_s_after_the_check_accepts(tiny):
    import torch

    from fpsnr.codec._compressai import compress, decompress

    model, x = tiny
    _native(model)
    with torch.no_grad():
        z, y, indexes = compress(model, x)
        theirs = model.decompress([[y], [z]], (1, 2))["x_hat"]
        checked = []
        ours = decompress(model, z, y, (1, 2), checked.append)
    assert torch.equal(ours, theirs) and len(checked) == 1 and torch.equal(checked[0], indexes)

    def refuse(_):
        raise RuntimeError("desync")

    with torch.no_grad(), pytest.raises(RuntimeError, match="desync"):
        decompress(model, z, y, (1, 2), refuse)


def test_a_bitstream_holds_exactly_compressai_s_strings(tiny, tmp_path):
    import torch
    import torch.nn.functional as F

    from fpsnr.codec.bitstream import unpack
    from fpsnr.codec.coder import encode
    from fpsnr.codec.weights import load_weights, save_weights

    model, _ = tiny
    save_weights(model, tmp_path / "w.safetensors", arch="bmshj2018-hyperprior", lmbda=0.01,
                 distortion="mse", steps=0, data="random init")  # fmt: skip
    net, info = load_weights(tmp_path / "w.safetensors")
    image = np.random.default_rng(5).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    _, z, y = unpack(encode(net, info, image).data)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    padded = F.pad(x, (0, 64 - 70 % 64, 0, 64 - 50), mode="replicate")  # to 64 × 128
    with torch.no_grad():
        assert net.compress(padded)["strings"] == [[y], [z]]


def test_the_stride_is_the_model_s_downsampling_factor_and_the_format_s(tiny):
    from fpsnr.codec._compressai import downsampling_factor
    from fpsnr.codec.bitstream import Z_STRIDE, latent_shape

    model, x = tiny
    assert downsampling_factor(model) == model.downsampling_factor == Z_STRIDE == 64
    z = model.h_a(model.g_a(x).abs())
    assert tuple(z.shape[-2:]) == latent_shape(64, 128) == latent_shape(50, 70 + 58)


def test_isolated_decoders_are_installed_once_at_load_and_decode_like_compressai_s(tiny, tmp_path):
    import torch
    from compressai.ans import RansDecoder

    from fpsnr.codec.coder import decode, encode
    from fpsnr.codec.isolation import IsolatedRansDecoder
    from fpsnr.codec.weights import load_weights, save_weights

    model, _ = tiny
    save_weights(model, tmp_path / "w.safetensors", arch="bmshj2018-hyperprior", lmbda=0.01,
                 distortion="mse", steps=0, data="random init")  # fmt: skip
    net, info = load_weights(tmp_path / "w.safetensors")
    coders = [m.entropy_coder for m in net.modules() if hasattr(m, "entropy_coder")]
    installed = [c._decoder for c in coders]
    assert coders and all(isinstance(d, IsolatedRansDecoder) for d in installed)
    image = np.random.default_rng(6).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode(net, info, image).data
    isolated = decode(net, info, data).image
    assert [c._decoder for c in coders] == installed  # decoding changed nothing
    for coder in coders:
        coder._decoder = RansDecoder()
    with torch.no_grad():
        assert np.array_equal(decode(net, info, data).image, isolated)


def test_the_buffer_tables_name_every_entropy_model_buffer():
    pytest.importorskip("compressai")
    from fpsnr.codec._compressai import CONSTANT_SUFFIXES, TABLE_SUFFIXES
    from fpsnr.codec.models import build_model

    model = build_model("bmshj2018-hyperprior", 16, 16)
    entropy = ("entropy_bottleneck", "gaussian_conditional")
    names = [n for n, _ in model.named_buffers() if n.startswith(entropy)]
    known = CONSTANT_SUFFIXES + TABLE_SUFFIXES
    assert names and all(n.endswith(known) for n in names if not n.endswith("_medians"))
    assert all(any(n.endswith(suffix) for n in names) for suffix in known)  # none stale





def test_another_compressai_version_is_one_warning_line_of_the_command(monkeypatch, tmp_path):
    compressai = pytest.importorskip("compressai")
    from click.testing import CliRunner

    import fpsnr.codec
    from fpsnr.cli import cli

    monkeypatch.setattr(compressai, "__version__", "9.9.9")
    monkeypatch.setattr(fpsnr.codec, "_checked", False)
    res = CliRunner().invoke(cli, ["codec", "models"])
    assert res.exit_code == 0, res.output
    said = [line for line in res.stderr.splitlines() if "9.9.9" in line]
    assert said == ["warning: CompressAI 9.9.9 is installed; fpsnr's codec was verified with 1.2.8 "
                    "(tests/codec/test_compressai.py checks what it relies on)"]  # fmt: skip
    again = CliRunner().invoke(cli, ["codec", "models"])
    assert "9.9.9" not in again.stderr  # once per process
