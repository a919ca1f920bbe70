"""Regression tests of the November 2026 hostile-input campaign: the learned codec (F20–F25, F32).

See ``tests/test_reliability.py`` for the rest and the findings file for each reproduction.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from fpsnr.codec.bitstream import latent_shape, pack, unpack
from fpsnr.errors import BitstreamError, CodecError

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

import fpsnr.codec.weights as weights_module  # noqa: E402
from fpsnr.cli import cli  # noqa: E402
from fpsnr.codec.coder import decode, encode  # noqa: E402
from fpsnr.codec.convert import convert_compressai  # noqa: E402

PLAIN = "bmshj2018-hyperprior"


def _encoded(tiny_weights, rng) -> tuple[bytes, object, object]:
    _, model, info = tiny_weights[PLAIN]
    img = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    return encode(model, info, img).data, model, info


@pytest.fixture(scope="module")
def kodak_sized():
    """The shipped plain model and a Kodak-sized bitstream: enough symbols for the over-read to fault."""
    from fpsnr.codec.weights import default_weights, load_weights

    model, info = load_weights(default_weights(PLAIN))
    yy, xx = np.mgrid[0:512, 0:768]
    img = np.stack([xx % 256, yy % 256, (xx * yy) % 256], 2).astype(np.uint8)
    return model, info, encode(model, info, img).data


@pytest.mark.parametrize("length", [0, 1, 8])
def test_a_crafted_short_y_string_is_an_error_not_a_crash(kodak_sized, length):
    """F20: a y string cut to 0–8 bytes, CRC recomputed, segfaulted the decoder (exit 139)."""
    model, info, data = kodak_sized
    header, z, y = unpack(data)
    crafted = pack(replace(header, y_length=length), z, y[:length])
    with pytest.raises(BitstreamError, match=r"the entropy decoder crashed on this bitstream \(signal SIG"):
        decode(model, info, crafted, source="y.fpc")
    assert decode(model, info, data).image.shape == (512, 768, 3)  # the process, and the model, live on


def test_a_header_claiming_a_huge_image_is_refused_before_the_weights_load(tiny_weights, rng, tmp_path,
                                                                           monkeypatch):  # fmt: skip
    """F21: 2 MB claiming 16384² ran 112 s to 9.6 GB; the weights loaded before the header was read."""
    data, _, _ = _encoded(tiny_weights, rng)
    header, _, _ = unpack(data)
    big = replace(
        header, height=16384, width=16384, z_shape=latent_shape(16384, 16384), z_length=0, y_length=0
    )
    path = tmp_path / "big.fpc"
    path.write_bytes(pack(big, b"", b""))
    with pytest.raises(
        BitstreamError, match=r"16384×16384 = 268,435,456 pixels, more than the limit of 8,388,608"
    ):
        unpack(path.read_bytes(), source="big.fpc")
    loads = []
    monkeypatch.setattr(weights_module, "load_weights", lambda *a, **k: loads.append(a))
    res = CliRunner().invoke(cli, ["codec", "decode", str(path), "--weights", str(tiny_weights[PLAIN][0]),
                                   "-o", str(tmp_path / "o.png")])  # fmt: skip
    assert res.exit_code == 1 and "--max-pixels" in res.stderr and "Traceback" not in res.output
    assert loads == []


def test_weights_declaring_huge_channels_are_refused_before_a_model_is_built(tmp_path, monkeypatch):
    """F22: a 268-byte file with N = M = 4096 built a 9.5 GB model before any check."""
    from safetensors.torch import save_file

    path = tmp_path / "hugeN.safetensors"
    meta = {"format": "fpsnr-weights", "arch": PLAIN, "N": "4096", "M": "4096", "lmbda": "0.01",
            "distortion": "mse", "steps": "0", "data": "x", "fpsnr_version": "0"}  # fmt: skip
    save_file({"g_a.0.weight": torch.zeros(1)}, str(path), metadata=meta)
    built = []
    monkeypatch.setattr(weights_module, "build_model", lambda *a: built.append(a))
    with pytest.raises(CodecError, match="N=4096, M=4096; fpsnr builds models of 1 to 1024 channels"):
        weights_module.load_weights(path)
    meta.update(N="512", M="512")  # within the budget, but the tensors do not hold them
    save_file({"g_a.0.weight": torch.zeros(1)}, str(path), metadata=meta)
    with pytest.raises(CodecError, match=r"g_a.0.weight has shape \(1,\); a model with N=512, M=512 needs"):
        weights_module.load_weights(path)
    pth = tmp_path / "wide.pth"
    torch.save({"g_a.0.weight": torch.zeros(100000, 0, 5, 5), "g_a.6.weight": torch.zeros(4, 0, 5, 5)}, pth)
    with pytest.raises(CodecError, match="N=100000"):
        convert_compressai(pth, tmp_path / "o.safetensors", lmbda=0.01)
    assert built == []


def test_a_shape_mismatch_names_the_tensor_and_both_shapes(tiny_weights, tmp_path):
    """F25: only 'Error(s) in loading state_dict for ScaleHyperprior:' was shown."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    source = tiny_weights[PLAIN][0]
    with safe_open(str(source), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        meta = handle.metadata()
    tensors["g_s.2.weight"] = torch.zeros(16, 16, 3, 3)
    path = tmp_path / "bad.safetensors"
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(
        CodecError, match=r"g_s.2.weight has shape \(16, 16, 3, 3\), the model needs \(16, 16, 5, 5\)"
    ):
        weights_module.load_weights(path)


@pytest.mark.parametrize(
    ("device", "code", "text"),
    [("bogus", 2, "is not a device"), ("meta", 1, "not a device fpsnr can compute on"),
     ("cuda:99", 1, "CUDA GPU")],
)  # fmt: skip
def test_devices_are_checked_in_one_line(tiny_weights, tmp_path, device, code, text):
    """F23: --device bogus, cuda without a GPU, cuda:99 and meta gave tracebacks."""
    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.device_count() > 99:
        pytest.skip("this machine has 100 GPUs")
    (tmp_path / "x.png").write_bytes(b"")
    res = CliRunner().invoke(cli, ["codec", "encode", str(tmp_path / "x.png"), "-o", str(tmp_path / "x.fpc"),
                                   "--weights", str(tiny_weights[PLAIN][0]), "--device", device])  # fmt: skip
    assert res.exit_code == code and "Traceback" not in res.output
    assert text in res.stderr and res.stderr.strip().splitlines()[-1].startswith("Error:")


def test_a_nan_decode_on_the_cpu_does_not_advise_the_cpu(tiny_weights, rng, monkeypatch):
    """F32: 'decode on the CPU' was the advice for a decode that already ran on the CPU."""
    import fpsnr.codec.coder as coder

    data, model, info = _encoded(tiny_weights, rng)
    monkeypatch.setattr(coder, "decompress", lambda *a, **k: torch.full((1, 3, 64, 128), float("nan")))
    with pytest.raises(CodecError, match="NaN or inf") as err:
        decode(model, info, data)
    assert "CPU" not in str(err.value)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_mutation_of_a_header_is_parsed_or_one_bitstream_error(data):
    """Fuzz: flips, truncations and rewritten fields (CRC recomputed or not) never escape as other errors."""
    from fpsnr.codec.bitstream import Header

    header = Header(model=PLAIN, weights_id=b"01234567", lmbda=0.01, height=64, width=96, channels=3,
                    z_shape=latent_shape(64, 96), index_crc=7, z_length=5, y_length=9)  # fmt: skip
    fields = data.draw(st.fixed_dictionaries({}, optional={
        "height": st.integers(0, 2**32 - 1), "width": st.integers(0, 2**32 - 1),
        "channels": st.integers(0, 255),
        "z_length": st.integers(0, 40), "y_length": st.integers(0, 40),
    }))  # fmt: skip
    try:
        blob = bytearray(pack(replace(header, **fields), b"z" * 5, b"y" * 9))
    except (BitstreamError, OverflowError, ValueError):
        return
    for _ in range(data.draw(st.integers(0, 3))):
        if blob:
            blob[data.draw(st.integers(0, len(blob) - 1))] ^= data.draw(st.integers(1, 255))
    blob = blob[: data.draw(st.integers(0, len(blob)))]
    try:
        parsed, z, y = unpack(bytes(blob), source="f.fpc")
    except BitstreamError as err:
        assert "\n" not in str(err) and str(err).startswith("f.fpc")
    else:
        assert len(z) == parsed.z_length and len(y) == parsed.y_length
