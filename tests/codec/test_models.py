"""Models and the attention block (tiny sizes, CPU)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

from fpsnr.codec.layers import ChannelAttention  # noqa: E402
from fpsnr.codec.models import MODELS, build_model, get_spec  # noqa: E402
from fpsnr.errors import CodecError  # noqa: E402


def test_attention_matches_a_hand_computation():
    torch.manual_seed(1)
    block = ChannelAttention(8, reduction=4)  # hidden width 2
    x = torch.randn(2, 8, 5, 7)
    w0 = block.fc0.weight.detach()  # (2, 8)
    w1 = block.fc1.weight.detach()  # (8, 2)
    for b in range(2):
        avg = [x[b, c].mean().item() for c in range(8)]
        mx = [x[b, c].max().item() for c in range(8)]

        def mlp(v):
            hidden = [max(0.0, sum(w0[h, c].item() * v[c] for c in range(8))) for h in range(2)]
            return [sum(w1[c, h].item() * hidden[h] for h in range(2)) for c in range(8)]

        a, m = mlp(avg), mlp(mx)
        for c in range(8):
            sigma = 1 / (1 + torch.exp(torch.tensor(-(a[c] + m[c]))).item())
            assert torch.allclose(block(x)[b, c], x[b, c] * sigma, atol=1e-6)


def test_attention_hidden_width_is_at_least_one():
    block = ChannelAttention(16, reduction=64)
    assert block.fc0.weight.shape == (1, 16) and block.fc1.weight.shape == (16, 1)


@pytest.mark.parametrize("name", list(MODELS))
def test_forward_shapes_and_likelihoods(name):
    model = build_model(name, 16, 16)
    model.train()
    out = model(torch.rand(2, 3, 64, 128))
    assert out["x_hat"].shape == (2, 3, 64, 128)
    assert out["likelihoods"]["y"].shape == (2, 16, 4, 8)
    assert out["likelihoods"]["z"].shape == (2, 16, 1, 2)
    for lik in out["likelihoods"].values():
        assert ((lik > 0) & (lik <= 1)).all()


def test_baseline_state_dict_warm_starts_the_attention_model():
    base = build_model("bmshj2018-hyperprior", 16, 16)
    attn = build_model("bmshj2018-hyperprior-attn", 16, 16)
    result = attn.load_state_dict(base.state_dict(), strict=False)
    assert sorted(result.missing_keys) == [
        "g_a.attn.fc0.weight", "g_a.attn.fc1.weight", "g_s.attn.fc0.weight", "g_s.attn.fc1.weight",
    ]  # fmt: skip
    assert result.unexpected_keys == []
    assert torch.equal(attn.g_a[0].weight, base.g_a[0].weight)


def test_attention_sits_at_the_end_of_g_a_and_the_start_of_g_s():
    attn = build_model("bmshj2018-hyperprior-attn", 16, 16)
    calls = []
    attn.g_a.attn.register_forward_hook(lambda m, i, o: calls.append(("g_a.attn", i[0].shape)))
    attn.g_a[6].register_forward_hook(lambda m, i, o: calls.append(("g_a.6", o.shape)))
    attn.g_s.attn.register_forward_hook(lambda m, i, o: calls.append(("g_s.attn", i[0].shape)))
    attn.g_s[0].register_forward_hook(lambda m, i, o: calls.append(("g_s.0", i[0].shape)))
    attn(torch.rand(1, 3, 64, 64))
    names = [c[0] for c in calls]
    assert names.index("g_a.6") < names.index("g_a.attn") < names.index("g_s.attn") < names.index("g_s.0")


def test_unknown_model_name():
    with pytest.raises(CodecError, match="unknown model 'cheng2020'; choose one of bmshj2018-hyperprior"):
        get_spec("cheng2020")


def test_the_torch_free_name_list_follows_the_registry():
    from fpsnr.codec import MODEL_NAMES

    assert tuple(MODELS) == MODEL_NAMES
