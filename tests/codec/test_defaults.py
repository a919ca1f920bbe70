"""Shipped default weights, picked by model name or from a bitstream's header; identity attention."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

import fpsnr  # noqa: E402
from fpsnr.cli import cli  # noqa: E402
from fpsnr.codec import MODEL_NAMES, coder  # noqa: E402
from fpsnr.codec.convert import convert_compressai  # noqa: E402
from fpsnr.codec.models import MODELS  # noqa: E402
from fpsnr.codec.weights import default_weights, load_weights  # noqa: E402
from fpsnr.errors import CodecError  # noqa: E402
from fpsnr.images.io import write_image  # noqa: E402
from tests.conftest import SHARED  # noqa: E402

PLAIN, ATTN = MODEL_NAMES
STUDY = SHARED / "reference" / "kodak-study"


@pytest.fixture
def photo(tmp_path, rng):
    yy, xx = np.mgrid[0:128, 0:192]  # a multiple of 64: the forward pass takes it unpadded
    img = np.stack([xx, yy * 2, (xx + yy) // 2], 2) + rng.integers(0, 8, (128, 192, 3))
    path = tmp_path / "photo.png"
    write_image(path, np.clip(img, 0, 255).astype(np.uint8))
    return path


def test_every_model_ships_weights_that_load(tmp_path):
    for name in MODEL_NAMES:
        _, info = load_weights(default_weights(name))
        assert info.arch == name and info.lmbda == 0.013 and (info.n, info.m) == (128, 192)
        assert info.steps > 2000  # the study's fine-tuning, not a toy


def test_encode_and_decode_without_weights_use_the_defaults(runner, photo, tmp_path):
    for model, extra in ((PLAIN, []), (ATTN, ["--model", ATTN])):
        fpc, png = tmp_path / f"{model}.fpc", tmp_path / f"{model}.png"
        res = runner.invoke(cli, ["codec", "encode", str(photo), "-o", str(fpc), *extra])
        assert res.exit_code == 0, res.output
        # the decoder is told nothing: the header names the model and its weights
        res = runner.invoke(cli, ["codec", "decode", str(fpc), "-o", str(png)])
        assert res.exit_code == 0, res.output
        net, info = load_weights(default_weights(model))
        expected = coder.decode(net, info, fpc.read_bytes()).image
        assert np.array_equal(fpsnr.read_image(png), expected)
        assert fpsnr.psnr(fpsnr.read_image(photo), expected) > 30  # trained weights (random ones: ~3 dB)
    res = runner.invoke(cli, ["codec", "roundtrip", str(photo), "--format", "json", "--model", ATTN])
    assert res.exit_code == 0 and json.loads(res.stdout)["model"] == ATTN


def test_a_bitstream_from_other_weights_needs_them(runner, tiny_weights, photo, tmp_path):
    fpc = tmp_path / "tiny.fpc"
    weights = str(tiny_weights[PLAIN][0])
    res = runner.invoke(cli, ["codec", "encode", str(photo), "-o", str(fpc), "--weights", weights])
    assert res.exit_code == 0
    res = runner.invoke(cli, ["codec", "decode", str(fpc), "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "not with the default weights of bmshj2018-hyperprior; pass the weights" in res.stderr
    args = ["codec", "decode", str(fpc), "-o", str(tmp_path / "x.png"), "--weights", weights]
    assert runner.invoke(cli, args).exit_code == 0


def test_missing_defaults_are_one_clear_line(runner, photo, tmp_path, monkeypatch):
    import dataclasses

    fpc = tmp_path / "a.fpc"
    assert runner.invoke(cli, ["codec", "encode", str(photo), "-o", str(fpc)]).exit_code == 0
    spec = MODELS[PLAIN]
    gone = dataclasses.replace(spec.default_weights, file="not-installed.safetensors")
    monkeypatch.setitem(MODELS, PLAIN, dataclasses.replace(spec, default_weights=gone))
    res = runner.invoke(cli, ["codec", "encode", str(photo), "-o", str(tmp_path / "b.fpc")])
    assert res.exit_code == 1 and "missing from this installation" in res.stderr
    monkeypatch.setitem(MODELS, PLAIN, dataclasses.replace(spec, default_weights=None))
    res = runner.invoke(cli, ["codec", "decode", str(fpc), "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 1 and "which has no default weights here" in res.stderr
    with pytest.raises(CodecError, match="has no default weights; pass a weights file"):
        default_weights(PLAIN)


def test_models_lists_the_registry_with_the_study_numbers(runner):
    res = runner.invoke(cli, ["codec", "models"])
    assert res.exit_code == 0
    for name in MODEL_NAMES:
        default = MODELS[name].default_weights
        line = next(ln for ln in res.stdout.splitlines() if ln.startswith(name + " "))
        assert default.file in line and "0.013" in line and f"{default.kodak_psnr:.2f}" in line
    assert "Kodak means of the project's study" in res.stdout


def _forward(model, x):
    with torch.no_grad():
        return model(x)


def test_attention_converted_from_plain_weights_computes_the_plain_model(photo, tmp_path):
    plain_net, plain_info = load_weights(default_weights(PLAIN))
    target = tmp_path / "attn.safetensors"
    info = convert_compressai(default_weights(PLAIN), target, arch=ATTN, lmbda=0.013)
    attn_net, attn_info = load_weights(tmp_path / "attn.safetensors")
    assert info.metadata["init"].startswith("attention identity")
    image = fpsnr.read_image(photo)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    a, b = _forward(plain_net, x), _forward(attn_net, x)
    assert torch.equal(a["x_hat"], b["x_hat"])
    for key in a["likelihoods"]:
        assert torch.equal(a["likelihoods"][key], b["likelihoods"][key])
    pa, pb = coder.encode(plain_net, plain_info, image), coder.encode(attn_net, attn_info, image)
    assert pa.payload_bytes == pb.payload_bytes
    assert pa.data[-pa.payload_bytes :] == pb.data[-pb.payload_bytes :]  # the same z and y strings
    assert np.array_equal(coder.decode(plain_net, plain_info, pa.data).image,
                          coder.decode(attn_net, attn_info, pb.data).image)  # fmt: skip


def test_training_the_attention_model_from_plain_weights_starts_from_the_plain_function(photo):
    from fpsnr.codec.models import build_model
    from fpsnr.codec.training.checkpoint import init_from

    torch.manual_seed(3)
    attn = build_model(ATTN)
    init_from(attn, str(default_weights(PLAIN)))
    attn.eval()
    plain, _ = load_weights(default_weights(PLAIN))
    x = torch.from_numpy(fpsnr.read_image(photo)).permute(2, 0, 1)[None].float() / 255
    assert torch.equal(_forward(plain, x)["x_hat"], _forward(attn, x)["x_hat"])
    assert torch.count_nonzero(attn.g_s.attn.fc1.weight) == 0


@pytest.mark.kodak
def test_the_registry_numbers_are_the_studys():
    rd_csv = STUDY / "rd.csv"
    if not rd_csv.is_file():
        pytest.skip("../shared/reference/kodak-study is not present")
    import pandas as pd

    rd = pd.read_csv(rd_csv, keep_default_na=False, na_values=[""])
    for name in MODEL_NAMES:
        d = MODELS[name].default_weights
        rows = rd[(rd["codec"] == name) & (rd["rate_point"].astype(str) == "0.013")]
        assert len(rows) == 24
        got = [rows[c].mean() for c in ("bpp", "psnr", "mean_fpsnr", "m_fpsnr_fp0.5")]
        want = (d.kodak_bpp, d.kodak_psnr, d.kodak_mean_fpsnr, d.kodak_m_fpsnr)
        assert got == pytest.approx(want, abs=6e-5)
        shipped = Path(default_weights(name)).read_bytes()
        assert shipped == (STUDY / "weights" / d.file).read_bytes()  # the study's files, byte for byte


@pytest.mark.kodak
@pytest.mark.slow
def test_default_weights_reproduce_the_study_on_kodim23(runner, kodak_dir):
    rd_csv = STUDY / "rd.csv"
    if not rd_csv.is_file():
        pytest.skip("../shared/reference/kodak-study is not present")
    import pandas as pd

    rd = pd.read_csv(rd_csv, keep_default_na=False, na_values=[""])
    row = rd[(rd["codec"] == PLAIN) & (rd["rate_point"].astype(str) == "0.013")
             & rd["image"].str.endswith("kodim23.png")].iloc[0]  # fmt: skip
    res = runner.invoke(cli, ["codec", "roundtrip", str(kodak_dir / "kodim23.png"), "--format", "json"])
    data = json.loads(res.stdout)
    # another CPU and torch build may round the hyper-decoder differently: close, not bit-equal
    assert data["bpp_payload"] == pytest.approx(row["bpp"], rel=0.01)
    assert data["psnr"] == pytest.approx(row["psnr"], abs=0.05)
