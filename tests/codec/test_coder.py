"""Real entropy coding with tiny models: round trips, determinism, robustness, desync."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

from fpsnr.codec.coder import decode, encode  # noqa: E402
from fpsnr.errors import BitstreamError, CodecError, DesyncError, ImageError  # noqa: E402
from tests.codec.conftest import encoded  # noqa: E402

NAMES = ("bmshj2018-hyperprior", "bmshj2018-hyperprior-attn")


def _image(rng, h=64, w=64):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.clip(np.stack([xx * 3, yy * 3, xx + yy], 2) + rng.integers(0, 20, (h, w, 3)), 0, 255).astype(
        np.uint8
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(64, 64), (37, 90), (1, 1), (65, 3)])
def test_round_trip_any_size(tiny_weights, rng, name, shape):
    _, model, info = tiny_weights[name]
    img = _image(rng, *shape)
    enc = encode(model, info, img)
    dec = decode(model, info, enc.data)
    assert dec.image.shape == img.shape and dec.image.dtype == np.uint8
    assert enc.bpp_file > enc.bpp_payload > 0


@pytest.mark.parametrize("name", NAMES)
def test_decode_equals_eval_forward_and_encoding_is_deterministic(tiny_weights, rng, name):
    _, model, info = tiny_weights[name]
    img = _image(rng)
    enc = encode(model, info, img)
    dec = decode(model, info, enc.data)
    with torch.no_grad():
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
        ref = model(x)["x_hat"].clamp(0, 1)[0].permute(1, 2, 0).numpy()
    assert np.array_equal(dec.image, (ref * 255).round().astype(np.uint8))
    assert encode(model, info, img).data == enc.data
    assert encode(model, info, dec.image).data == encode(model, info, dec.image).data


def test_grayscale_is_coded_and_returned_gray(tiny_weights, rng):
    _, model, info = tiny_weights["bmshj2018-hyperprior"]
    gray = _image(rng)[:, :, 0]
    dec = decode(model, info, encode(model, info, gray).data)
    assert dec.image.shape == gray.shape and dec.header.channels == 1


def test_refuses_alpha_and_16_bit(tiny_weights, rng):
    _, model, info = tiny_weights["bmshj2018-hyperprior"]
    with pytest.raises(ImageError, match="alpha"):
        encode(model, info, np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(ImageError, match="8-bit"):
        encode(model, info, np.zeros((8, 8, 3), np.uint16))


def test_wrong_weights_and_wrong_model_are_refused(tiny_weights, rng, tmp_path):
    _, base, base_info = tiny_weights["bmshj2018-hyperprior"]
    _, attn, attn_info = tiny_weights["bmshj2018-hyperprior-attn"]
    data = encode(base, base_info, _image(rng)).data
    with pytest.raises(BitstreamError, match="encoded with model 'bmshj2018-hyperprior'"):
        decode(attn, attn_info, data)

    other = replace(base_info, weights_id=b"\x00" * 8)
    with pytest.raises(
        BitstreamError, match=r"encoded with weights .*decode with the weights that encoded it"
    ):
        decode(base, other, data)


def test_desync_is_detected_not_decoded_into_garbage(tiny_weights, rng):
    _, model, info = tiny_weights["bmshj2018-hyperprior"]
    data = encode(model, info, _image(rng)).data
    last = model.h_s[4]  # the hyper-decoder's last conv: perturb it as other arithmetic would
    with torch.no_grad():
        saved = last.bias.clone()
        last.bias.add_(0.5)
    try:
        with pytest.raises(DesyncError, match="scale indexes decoded here differ"):
            decode(model, info, data)
    finally:
        with torch.no_grad():
            last.bias.copy_(saved)
    assert decode(model, info, data).image.shape == (64, 64, 3)


def test_bit_flip_in_payload_is_caught_by_the_checksum(tiny_weights, rng):
    _, model, info = tiny_weights["bmshj2018-hyperprior"]
    data = bytearray(encode(model, info, _image(rng)).data)
    data[-2] ^= 0x10
    with pytest.raises(BitstreamError, match="checksum mismatch"):
        decode(model, info, bytes(data))




def test_a_nan_decode_on_the_cpu_does_not_advise_the_cpu(tiny_weights, rng, monkeypatch):
    """F32: 'decode on the CPU' was the advice for a decode that already ran on the CPU."""
    import fpsnr.codec.coder as coder

    data, model, info = encoded(tiny_weights, rng)
    monkeypatch.setattr(coder, "decompress", lambda *a, **k: torch.full((1, 3, 64, 128), float("nan")))
    with pytest.raises(CodecError, match="NaN or inf") as err:
        decode(model, info, data)
    assert "CPU" not in str(err.value)


def test_a_codec_is_loaded_by_model_name_or_file_and_codes_as_the_functions_do(tiny_weights, rng):
    import fpsnr.codec

    path, model, info = tiny_weights["bmshj2018-hyperprior"]
    codec = fpsnr.codec.load(path)
    assert isinstance(codec, fpsnr.codec.Codec) and codec.info == info and codec.device == "cpu"
    image = rng.integers(0, 256, (40, 70, 3), dtype=np.uint8)
    encoded = codec.encode(image)
    assert encoded.data == encode(model, info, image).data
    assert np.array_equal(codec.decode(encoded.data).image, decode(model, info, encoded.data).image)
    shipped = fpsnr.codec.load("bmshj2018-hyperprior-attn")
    assert shipped.info.arch == "bmshj2018-hyperprior-attn" and shipped.info.lmbda == pytest.approx(0.013)
    with pytest.raises(CodecError, match="these are weights of 'bmshj2018-hyperprior', not of"):
        fpsnr.codec.load(path, model="bmshj2018-hyperprior-attn")
    with pytest.raises(BitstreamError, match=r"^x\.fpc: encoded with model 'bmshj2018-hyperprior'; these"):
        shipped.decode(encoded.data, source="x.fpc")
