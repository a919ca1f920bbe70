"""Plain neural-network blocks (no entropy coding)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ChannelAttention"]


class ChannelAttention(nn.Module):
    """CBAM channel attention, the paper's attention block (equation 12).

    Ab(F) = σ(W1·ReLU(W0·AvgPool(F)) + W1·ReLU(W0·MaxPool(F))) ⊗ F

    with W0 ∈ R^{C/r × C} and W1 ∈ R^{C × C/r} shared by both pooled vectors, global
    average and max pooling over the spatial dimensions, σ the logistic sigmoid and ⊗
    a per-channel product. The hidden width is max(1, C // r).

    Parameters
    ----------
    channels : int
        C, the channels of the feature map.
    reduction : int
        r, 64 in SPEC §4.

    Shapes: input and output ``(B, C, H, W)``.
    """

    def __init__(self, channels: int, reduction: int = 64) -> None:
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError(f"channels and reduction must be positive, got {channels}, {reduction}")
        hidden = max(1, channels // reduction)
        self.fc0 = nn.Linear(channels, hidden, bias=False)  # W0
        self.fc1 = nn.Linear(hidden, channels, bias=False)  # W1

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """The per-channel attention weights σ(...), shape ``(B, C, 1, 1)``."""
        avg = x.mean(dim=(2, 3))
        peak = x.amax(dim=(2, 3))
        logits = self.fc1(torch.relu(self.fc0(avg))) + self.fc1(torch.relu(self.fc0(peak)))
        return torch.sigmoid(logits)[:, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weights(x)
