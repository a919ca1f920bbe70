"""Weights files: metadata checks, fp16 storage, the CompressAI converter."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

from safetensors.torch import save_file  # noqa: E402

import fpsnr.codec.weights as weights_module  # noqa: E402
from fpsnr.codec.convert import convert_compressai  # noqa: E402
from fpsnr.codec.models import build_model  # noqa: E402
from fpsnr.codec.weights import load_weights, save_weights  # noqa: E402
from fpsnr.errors import CodecError  # noqa: E402
from tests.codec.conftest import PLAIN  # noqa: E402


def test_metadata_is_recorded_and_checked(tiny_weights):
    path, _, info = tiny_weights["bmshj2018-hyperprior"]
    assert (info.arch, info.n, info.m, info.lmbda, info.distortion, info.steps) == (
        "bmshj2018-hyperprior", 16, 16, 0.01, "mse", 0,
    )  # fmt: skip
    assert len(info.weights_id) == 8
    with pytest.raises(
        CodecError, match="weights of 'bmshj2018-hyperprior', not of 'bmshj2018-hyperprior-attn'"
    ):
        load_weights(path, "bmshj2018-hyperprior-attn")


def test_foreign_and_broken_files(tmp_path):
    plain = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(2)}, str(plain))
    with pytest.raises(CodecError, match="not an fpsnr weights file"):
        load_weights(plain)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\xff" * 64)
    with pytest.raises(CodecError, match="not a readable safetensors file"):
        load_weights(junk)
    with pytest.raises(CodecError, match="no such weights file"):
        load_weights(tmp_path / "missing.safetensors")


def test_half_precision_keeps_the_entropy_model_constants(tmp_path):
    model = build_model("bmshj2018-hyperprior", 16, 16)
    model.update(force=True)
    save_weights(model, tmp_path / "h.safetensors", arch="bmshj2018-hyperprior", lmbda=0.01,
                 distortion="mse", steps=1, data="x", half=True)  # fmt: skip
    loaded, info = load_weights(tmp_path / "h.safetensors")
    bound = loaded.gaussian_conditional.likelihood_lower_bound.bound
    assert bound.dtype == torch.float32 and bound.item() == pytest.approx(1e-9)
    assert info.metadata["dtype"] == "float16"
    assert torch.allclose(loaded.g_a[0].weight, model.g_a[0].weight, atol=1e-3)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_converter_from_a_compressai_state_dict(tmp_path, suffix):
    torch.manual_seed(3)
    base = build_model("bmshj2018-hyperprior", 16, 24)
    base.update(force=True)
    src = tmp_path / f"ckpt{suffix}"
    if suffix == ".pth":
        torch.save({"state_dict": {f"module.{k}": v for k, v in base.state_dict().items()}}, src)
    else:
        save_file({k: v.contiguous() for k, v in base.state_dict().items()}, str(src))
    info = convert_compressai(src, tmp_path / "out.safetensors", lmbda=0.0067, steps=5, data="test")
    assert (info.n, info.m, info.lmbda) == (16, 24, 0.0067)
    loaded, _ = load_weights(tmp_path / "out.safetensors")
    assert torch.equal(loaded.g_s[6].weight, base.g_s[6].weight)
    attn = convert_compressai(
        src, tmp_path / "attn.safetensors", arch="bmshj2018-hyperprior-attn", lmbda=0.0067
    )
    assert attn.arch == "bmshj2018-hyperprior-attn"


def test_converter_refuses_pickled_code_in_one_line_without_unsafe_advice(tmp_path, recwarn):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    src = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, src)
    with pytest.raises(CodecError, match="holds Python objects other than tensors") as caught:
        convert_compressai(src, tmp_path / "o.safetensors", lmbda=0.01)
    message = str(caught.value)
    assert "\n" not in message and "weights_only" not in message  # F24: no advice to unpickle
    assert not [w for w in recwarn if "torch" in str(w.filename)]
    assert not (tmp_path / "o.safetensors").exists()


def test_converter_refuses_other_architectures(tmp_path):
    save_file({"conv.weight": torch.zeros(3, 3)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CodecError, match="not a bmshj2018-hyperprior state dict"):
        convert_compressai(tmp_path / "other.safetensors", tmp_path / "o.safetensors", lmbda=0.01)




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


def test_two_conversions_of_one_checkpoint_are_byte_identical_and_share_a_weights_id(tmp_path):
    """Newcomer 2026-12 finding 5: safetensors wrote its header keys in a random order,
    and the weights id was the file's hash, so two conversions refused each other's
    bitstreams. Files are now identical, and the id comes from what decides decoding."""
    torch.manual_seed(4)
    base = build_model(PLAIN, 16, 16)
    base.update(force=True)
    src = tmp_path / "ckpt.pth"
    torch.save({"state_dict": base.state_dict()}, src)
    files = [tmp_path / f"c{i}.safetensors" for i in range(4)]
    ids = [convert_compressai(src, f, lmbda=0.013).weights_id for f in files]
    assert len({f.read_bytes() for f in files}) == 1 and len(set(ids)) == 1
    # other metadata (what it was trained on), the same tensors: the same id, other bytes
    other = tmp_path / "other.safetensors"
    info = convert_compressai(src, other, lmbda=0.013, data="somewhere else")
    assert info.weights_id == ids[0] and other.read_bytes() != files[0].read_bytes()
    import hashlib

    assert ids[0] != hashlib.sha256(files[0].read_bytes()).digest()[:8]  # not the file hash any more


def test_the_weights_id_changes_with_any_tensor_and_with_the_architecture(tmp_path):
    from fpsnr.codec.weights import content_id

    torch.manual_seed(5)
    tensors = {k: v.clone() for k, v in build_model(PLAIN, 16, 16).state_dict().items()}
    first = content_id(PLAIN, 16, 16, tensors)
    assert content_id(PLAIN, 16, 16, dict(reversed(list(tensors.items())))) == first  # order of keys
    wide = {k: v.to(torch.float64) if v.is_floating_point() else v for k, v in tensors.items()}
    assert content_id(PLAIN, 16, 16, wide) == first  # the values decide, not the storage
    assert content_id("bmshj2018-hyperprior-attn", 16, 16, tensors) != first
    nudged = dict(tensors)
    key = "g_a.0.weight"
    nudged[key] = tensors[key].clone()
    nudged[key].view(-1)[0] = torch.nextafter(nudged[key].view(-1)[0], torch.tensor(1.0))
    assert content_id(PLAIN, 16, 16, nudged) != first


def test_a_bitstream_with_the_old_file_hash_id_still_decodes(tiny_weights, rng):
    """Bitstreams written before 2026-12 carry 8 bytes of the weights file's SHA-256."""
    from dataclasses import replace

    import numpy as np

    from fpsnr.codec.bitstream import pack, unpack
    from fpsnr.codec.coder import decode, encode
    from fpsnr.errors import BitstreamError

    _, model, info = tiny_weights[PLAIN]
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode(model, info, image).data
    header, z, y = unpack(data)
    assert header.weights_id == info.weights_id != info.file_id
    old = pack(replace(header, weights_id=info.file_id), z, y)
    assert np.array_equal(decode(model, info, old).image, decode(model, info, data).image)
    with pytest.raises(BitstreamError, match="encoded with weights 0000000000000000"):
        decode(model, info, pack(replace(header, weights_id=bytes(8)), z, y))


def _mutated(path, out, key, change):
    """A copy of a weights file with one tensor changed: same shapes, same metadata."""
    tensors, metadata = weights_module.read_safetensors(path)
    tensors[key] = change(tensors[key].clone())
    save_file(tensors, str(out), metadata=metadata)
    return out


def _one_nan(t):
    t.view(-1)[7] = float("nan")
    return t


def _wide_quantiles(t):
    t[:, 0, 0], t[:, 0, 2] = -1e4, 1e4
    return t


@pytest.mark.parametrize(
    ("key", "change", "message"),
    [
        ("g_a.6.weight", _one_nan, r"g_a.6.weight holds NaN or infinite values; these weights cannot code"),
        ("h_s.0.bias", lambda t: t + float("inf"), r"h_s.0.bias holds NaN or infinite values"),
        ("entropy_bottleneck.quantiles", _wide_quantiles,
         r"entropy_bottleneck.quantiles spans 20,001 symbols, more than the 4,096 fpsnr allows"),
    ],
)
def test_weights_whose_values_would_hang_or_flood_the_coder_are_refused_on_load(
    tiny_weights, tmp_path, key, change, message
):
    """G7: one NaN hung `codec encode` in the rANS encoder; G8: quantiles of ±1e4 took 55 s and 1.6 GB."""
    path = _mutated(tiny_weights[PLAIN][0], tmp_path / "bad.safetensors", key, change)
    with pytest.raises(CodecError, match=message):
        load_weights(path)


def test_weights_whose_latents_overflow_the_coder_are_refused_before_coding(tiny_weights, tmp_path, rng):
    """G7: g_a.6.weight × 1e8 (finite) made latents the rANS escape code never finishes."""
    import subprocess
    import sys

    from fpsnr.images.io import write_image

    path = _mutated(tiny_weights[PLAIN][0], tmp_path / "big.safetensors", "g_a.6.weight", lambda t: t * 1e8)
    image = tmp_path / "img.png"
    write_image(image, rng.integers(0, 256, (64, 96, 3), dtype="uint8"))
    res = subprocess.run(
        [sys.executable, "-m", "fpsnr", "codec", "encode", str(image), "--weights", str(path),
         "-o", str(tmp_path / "e.fpc")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 1, res.stderr
    assert "the weights' g_a produced values up to" in res.stderr and "limit 1.04858e+06" in res.stderr
    assert not (tmp_path / "e.fpc").exists() and "Traceback" not in res.stderr


@pytest.mark.timeout(60)
def test_weights_and_checkpoints_that_are_pipes_are_refused_at_once(tmp_path):
    """G22: safetensors and torch.load block for ever on a FIFO given as a file."""
    import os

    def convert(path):
        return convert_compressai(path, tmp_path / "o.safetensors", lmbda=0.01)

    for name, load, said in (("w.safetensors", load_weights, "expected a weights file"),
                             ("c.pth.tar", convert, "expected a PyTorch checkpoint")):  # fmt: skip
        fifo = tmp_path / name
        os.mkfifo(fifo)
        with pytest.raises(CodecError, match=rf"{name}: is a pipe \(FIFO\), {said}"):
            load(fifo)
