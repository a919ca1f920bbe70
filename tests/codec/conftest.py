from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def tiny_weights(tmp_path):
    """Tiny randomly initialised models (N = M = 16) saved as fpsnr weights files."""
    pytest.importorskip("compressai")
    import torch

    from fpsnr.codec.models import build_model
    from fpsnr.codec.weights import load_weights, save_weights

    made = {}
    for name in ("bmshj2018-hyperprior", "bmshj2018-hyperprior-attn"):
        torch.manual_seed(0)
        model = build_model(name, 16, 16)
        model.update(force=True)
        path = tmp_path / f"{name}.safetensors"
        save_weights(model, path, arch=name, lmbda=0.01, distortion="mse", steps=0, data="random init")
        made[name] = (path, *load_weights(path))
    return made


PLAIN = "bmshj2018-hyperprior"


def encoded(tiny_weights, rng) -> tuple[bytes, object, object]:
    """A 64 × 96 image coded with the tiny plain model: the bytes, the model, its info."""
    from fpsnr.codec.coder import encode

    _, model, info = tiny_weights[PLAIN]
    img = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    return encode(model, info, img).data, model, info


@pytest.fixture(scope="module")
def kodak_sized():
    """The shipped plain model and a Kodak-sized bitstream: enough symbols for the over-read to fault."""
    pytest.importorskip("compressai")
    from fpsnr.codec.coder import encode
    from fpsnr.codec.weights import default_weights, load_weights

    model, info = load_weights(default_weights(PLAIN))
    yy, xx = np.mgrid[0:512, 0:768]
    img = np.stack([xx % 256, yy % 256, (xx * yy) % 256], 2).astype(np.uint8)
    return model, info, encode(model, info, img).data
