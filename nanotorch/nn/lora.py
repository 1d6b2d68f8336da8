"""LoRA adapters (low-rank adaptation) around a ``Linear`` or ``Conv2d`` layer.

``y = base(x) + B(A(dropout(x))) * alpha / r`` with the base weight frozen. ``A`` and ``B``
are built and initialised in the order of the peft library's convention (``A`` then ``B``
constructed as layers, then ``A`` re-drawn kaiming-uniform with ``a=sqrt(5)`` and ``B``
zeroed), so a seeded run draws what torch + peft draw and the initial output equals the base
layer's. The adapted layer keeps the base's ``weight``/``bias`` under their own names (a
base model's state dict still loads) and adds ``lora_A.weight``/``lora_B.weight``."""
from __future__ import annotations

import math

from ..autograd.grad_mode import no_grad
from . import init
from ._functional.conv import conv2d
from ._functional.linear import linear
from .modules.conv import Conv2d
from .modules.dropout import Dropout
from .modules.linear import Identity, Linear
from .modules.module import Module


class LoRALayer(Module):
    """What the LoRA layers share: the frozen base parameters, the adapter, merging."""

    def _adopt(self, base, r: int, alpha: float, dropout: float) -> None:
        if not isinstance(r, int) or isinstance(r, bool) or r < 1:
            raise ValueError(f"LoRA rank r must be a positive integer, got {r!r}")
        if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):
            raise ValueError(f"LoRA dropout must be in [0, 1), got {dropout!r}")
        self.weight = base.weight
        self.bias = base.bias
        for p in (self.weight, self.bias):
            if p is not None:
                p.requires_grad_(False)
        self.r, self.alpha, self.scaling = r, alpha, alpha / r
        self.merged = False
        self.lora_dropout = Dropout(dropout) if dropout > 0 else Identity()

    def _init_adapter(self) -> None:
        init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        init.zeros_(self.lora_B.weight)

    def delta_weight(self):
        """``scaling * B @ A`` shaped like the base weight."""
        raise NotImplementedError

    def base_forward(self, x):
        raise NotImplementedError

    def forward(self, x):
        out = self.base_forward(x)
        if self.merged:
            return out
        return out + self.lora_B(self.lora_A(self.lora_dropout(x))) * self.scaling

    def merge(self) -> None:
        """Add the adapter into the base weight (inference at the base layer's cost)."""
        if self.merged:
            raise RuntimeError("LoRA adapter is already merged")
        with no_grad():
            self.weight.add_(self.delta_weight())
        self.merged = True

    def unmerge(self) -> None:
        """Take the adapter back out of the base weight (after ``merge``)."""
        if not self.merged:
            raise RuntimeError("LoRA adapter is not merged")
        with no_grad():
            self.weight.sub_(self.delta_weight())
        self.merged = False

    def extra_repr(self):
        return f"r={self.r}, alpha={self.alpha}, merged={self.merged}"


class LoRALinear(LoRALayer):
    """``Linear`` with a rank-``r`` adapter: ``A`` is ``(r, in)``, ``B`` is ``(out, r)``."""

    def __init__(self, base: Linear, r: int = 8, alpha: float = 8, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, Linear):
            raise TypeError(f"LoRALinear wraps a Linear layer, got {type(base).__name__}")
        self._adopt(base, r, alpha, dropout)
        self.in_features, self.out_features = base.in_features, base.out_features
        kw = {"bias": False, "dtype": base.weight.dtype}
        self.lora_A = Linear(self.in_features, r, **kw)
        self.lora_B = Linear(r, self.out_features, **kw)
        self._init_adapter()

    def base_forward(self, x):
        return linear(x, self.weight, self.bias)

    def delta_weight(self):
        return (self.lora_B.weight @ self.lora_A.weight) * self.scaling


class LoRAConv2d(LoRALayer):
    """``Conv2d`` with a rank-``r`` adapter: ``A`` is a convolution to ``r`` channels with
    the base's kernel, stride, padding and dilation, ``B`` a 1x1 convolution to the output
    channels. Grouped convolutions are not supported."""

    def __init__(self, base: Conv2d, r: int = 8, alpha: float = 8, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, Conv2d):
            raise TypeError(f"LoRAConv2d wraps a Conv2d layer, got {type(base).__name__}")
        if base.groups != 1:
            raise ValueError(f"LoRAConv2d: grouped convolutions (groups={base.groups}) are not "
                             "supported")
        self._adopt(base, r, alpha, dropout)
        self.in_channels, self.out_channels = base.in_channels, base.out_channels
        self.kernel_size, self.stride = base.kernel_size, base.stride
        self.padding, self.dilation = base.padding, base.dilation
        dtype = base.weight.dtype
        self.lora_A = Conv2d(self.in_channels, r, self.kernel_size, self.stride, self.padding,
                             self.dilation, bias=False, dtype=dtype)
        self.lora_B = Conv2d(r, self.out_channels, 1, 1, bias=False, dtype=dtype)
        self._init_adapter()

    def base_forward(self, x):
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def delta_weight(self):
        a = self.lora_A.weight
        b = self.lora_B.weight.flatten(1)
        return (b @ a.flatten(1)).reshape(b.shape[0], *a.shape[1:]) * self.scaling
