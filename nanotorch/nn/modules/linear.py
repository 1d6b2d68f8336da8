"""``Identity`` and ``Linear``."""
from __future__ import annotations

from .._functional.linear import linear
from ._params import register_weight_bias, reset_fan_in_uniform
from .module import Module


class Identity(Module):
    """Returns its input unchanged (constructor arguments are accepted and ignored)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x @ weight.T + bias`` with weight ``(out_features, in_features)``.

    Initialisation as PyTorch: weight and bias from U(-1/sqrt(in_features),
    1/sqrt(in_features))."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        register_weight_bias(self, (out_features, in_features), out_features, bias=bias,
                             dtype=dtype, device=device)
        self.reset_parameters()

    def reset_parameters(self):
        reset_fan_in_uniform(self)

    def forward(self, input):
        return linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
