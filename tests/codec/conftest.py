from __future__ import annotations

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
