"""``Conv1d``, ``Conv2d``, ``ConvTranspose1d`` and ``ConvTranspose2d``."""
from __future__ import annotations

from .._functional._checks import pair as _pair
from .._functional.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ._params import register_weight_bias, reset_fan_in_uniform
from ._repr import non_defaults
from .module import Module

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _single(v, name):
    t = (v,) if isinstance(v, int) else tuple(v)
    if len(t) != 1:
        raise ValueError(f"expected {name} to be a single integer value or a list of 1 values, "
                         f"got {name}={list(t)}")
    return tuple(int(e) for e in t)


class _ConvNd(Module):
    """Shared set-up of the convolutions: arguments checked and stored as PyTorch does,
    weight ``(out, in // groups, *k)`` (transposed: ``(in, out // groups, *k)``) and bias
    initialised as PyTorch: kaiming_uniform_(a=sqrt(5)), bias from U(-1/sqrt(fan_in),
    1/sqrt(fan_in)). Only ``padding_mode='zeros'`` is supported."""

    _dims = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, device, dtype, output_padding=0):
        super().__init__()
        if groups <= 0:
            raise ValueError(f"groups must be a positive integer, got groups={groups}")
        if in_channels % groups != 0:
            raise ValueError(f"in_channels must be divisible by groups, got in_channels="
                             f"{in_channels}, groups={groups}")
        if out_channels % groups != 0:
            raise ValueError(f"out_channels must be divisible by groups, got out_channels="
                             f"{out_channels}, groups={groups}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode='{padding_mode}'")
        name = type(self).__name__
        if padding_mode != "zeros":
            if self.transposed:
                raise ValueError(f'Only "zeros" padding mode is supported for {name}')
            raise NotImplementedError(f"{name}: padding_mode='{padding_mode}' is not supported "
                                      "by nanotorch; only 'zeros'")
        tup = _pair if self._dims == 2 else _single
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = tup(kernel_size, "kernel_size")
        self.stride = tup(stride, "stride")
        self.dilation = tup(dilation, "dilation")
        if isinstance(padding, str):
            if self.transposed:
                raise ValueError(f'padding must be an int or a tuple of ints for {name}, got '
                                 f'{padding!r}')
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 f"{{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions, got "
                                 f"stride={self.stride}")
            self.padding = padding
        else:
            self.padding = tup(padding, "padding")
        self.output_padding = tup(output_padding, "output_padding")
        self.groups = groups
        self.padding_mode = padding_mode
        shape = (in_channels, out_channels // groups) if self.transposed else \
            (out_channels, in_channels // groups)
        register_weight_bias(self, shape + self.kernel_size, out_channels, bias=bias,
                             dtype=dtype, device=device)
        self.reset_parameters()

    def reset_parameters(self):
        reset_fan_in_uniform(self, bias_without_fan=False)

    def extra_repr(self):
        n = self._dims
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        s += non_defaults(self, (("padding", (0,) * n), ("dilation", (1,) * n),
                                 ("output_padding", (0,) * n), ("groups", 1)))
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    """1-D convolution layer, weight ``(out_channels, in_channels // groups, k)``."""

    _dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        return conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class Conv2d(_ConvNd):
    """2-D convolution layer, weight ``(out_channels, in_channels // groups, kH, kW)``."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, output_padding)

    def _output_padding(self, input, output_size):
        """The output padding that gives ``output_size`` (PyTorch's rule and message)."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        lead = 2 if input.ndim == n + 2 else 1
        if len(output_size) == lead + n:
            output_size = output_size[lead:]
        if len(output_size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {input.ndim}D input, output_size must have "
                             f"{n} or {lead + n} elements (got {len(output_size)})")
        lo = [(input.shape[lead + d] - 1) * self.stride[d] - 2 * self.padding[d]
              + self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(n)]
        hi = [m + s - 1 for m, s in zip(lo, self.stride)]
        for size, a, b in zip(output_size, lo, hi):
            if size < a or size > b:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {lo} to {hi} (for an input of "
                                 f"{tuple(input.shape[lead:])})")
        return tuple(int(s) - m for s, m in zip(output_size, lo))


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution, weight ``(in_channels, out_channels // groups, k)``."""

    _dims = 1

    def forward(self, input, output_size=None):
        return conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups,
                                self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution, weight ``(in_channels, out_channels // groups, kH, kW)``."""

    def forward(self, input, output_size=None):
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups,
                                self.dilation)
