"""Building blocks shared by the model families (torchvision.ops equivalents): squeeze-and-
excitation, stochastic depth, channels-first LayerNorm, Permute and channel shuffle."""
from __future__ import annotations

from .. import creation, nn
from ..nn import functional as F


class SqueezeExcitation(nn.Module):
    """Channel attention: global average -> 1x1 conv squeeze -> activation -> 1x1 conv
    expand -> gate (``scale_activation``) -> input scaled per channel."""

    def __init__(self, input_channels, squeeze_channels, activation=nn.ReLU,
                 scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, x):
        scale = self.activation(self.fc1(self.avgpool(x)))
        return self.scale_activation(self.fc2(scale))

    def forward(self, x):
        return x * self._scale(x)


def stochastic_depth(input, p: float, mode: str, training: bool = True):
    """Zero whole samples (``mode="row"``) or the whole batch (``"batch"``) with probability
    ``p`` and scale the survivors by 1/(1-p), during training only."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival = 1.0 - p
    shape = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    noise = creation.empty(shape, dtype=input.dtype).bernoulli_(survival)
    if survival > 0.0:
        noise.div_(survival)
    return input * noise


class StochasticDepth(nn.Module):
    """Module form of :func:`stochastic_depth` (active in train mode only)."""

    def __init__(self, p: float, mode: str):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, input):
        return stochastic_depth(input, self.p, self.mode, self.training)

    def extra_repr(self):
        return f"p={self.p}, mode={self.mode}"


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an (N, C, H, W) tensor."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Permute(nn.Module):
    """``x.permute(*dims)`` as a layer."""

    def __init__(self, dims):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x):
        return x.permute(*self.dims)

    def extra_repr(self):
        return f"dims={self.dims}"


def channel_shuffle(x, groups: int):
    """Interleave the channels of ``groups`` equal groups: (g, C/g) -> (C/g, g)."""
    n, c, h, w = x.shape
    if c % groups:
        raise ValueError(f"channel_shuffle: {c} channels do not split into {groups} groups")
    x = x.reshape(n, groups, c // groups, h, w).transpose(1, 2)
    return x.reshape(n, c, h, w)
