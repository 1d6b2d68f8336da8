"""``F.conv1d``, ``F.conv2d``, ``F.conv_transpose1d``, ``F.conv_transpose2d``: argument
checks, PyTorch's messages and 'same' padding in front of the ops in ``ops/conv.py``
(1-D convolutions run as 2-D ones of unit height)."""
from __future__ import annotations

import numpy as np

from ...ops.conv import Conv2d, ConvTranspose2d
from ._checks import check_float, check_tensor, pair
from ._half import float16_via_float32
from .padding import pad

_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half"}


def _check(input, weight, bias, groups, name="conv2d", dims=2, transposed=False):
    """PyTorch's checks of a (transposed) convolution with ``dims`` spatial dimensions."""
    check_tensor(input, "input", name)
    check_tensor(weight, "weight", name)
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(input.shape)}")
    if weight.ndim != dims + 2:
        raise RuntimeError(f"{name}(): weight must be {dims + 2}-D (out_channels, "
                           f"in_channels/groups, *kernel_size), got size {list(weight.shape)}")
    check_float(input, "input", name, kernel_dtypes=True)
    xd, wd = input._array.dtype, weight._array.dtype
    if xd != wd:
        raise RuntimeError(f"expected scalar type {_NAMES.get(xd.name, xd.name)} but found "
                           f"{_NAMES.get(wd.name, wd.name)} (input {input.dtype}, weight "
                           f"{weight.dtype})")
    if groups < 1:
        raise RuntimeError(f"non-positive groups is not supported, got groups={groups}")
    if weight.shape[0] % groups:
        size = [list(weight.shape)] if transposed else list(weight.shape)  # PyTorch's brackets
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size {size} instead")
    shape = list(input.shape) if input.ndim == dims + 2 else [1] + list(input.shape)
    if transposed:
        in_ch, out_ch, given = weight.shape[0], weight.shape[1] * groups, "transposed=1"
    else:
        in_ch, out_ch, given = weight.shape[1] * groups, weight.shape[0], f"groups={groups}"
    if shape[1] != in_ch:
        raise RuntimeError(f"Given {given}, weight of size {list(weight.shape)}, expected "
                           f"input{shape} to have {in_ch} channels, but got {shape[1]} "
                           f"channels instead")
    if bias is not None:
        check_tensor(bias, "bias", name)
        if bias.ndim != 1 or bias.shape[0] != out_ch:
            lead = "Given transposed=1, weight" if transposed else "Given weight"
            raise RuntimeError(f"{lead} of size {list(weight.shape)}, expected bias to be "
                               f"1-dimensional with {out_ch} elements, but got bias of size "
                               f"{list(bias.shape)} instead")
        if bias._array.dtype != wd:
            raise RuntimeError(f"expected bias and weight to have the same dtype, but got "
                               f"{bias.dtype} and {weight.dtype}")


def _check_window(stride, dilation, kernel_shape):
    if min(stride) < 1:
        raise RuntimeError("non-positive stride is not supported")
    if min(dilation) < 1:
        raise RuntimeError("dilation should be greater than zero")
    if min(kernel_shape) < 1:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel size "
                           f"{list(kernel_shape)}")


def _same_padding(input, weight, stride, dilation):
    """(input, symmetric padding) for padding='same'; an odd total pads one extra on the
    bottom / right of a padded copy of the input, as PyTorch does."""
    if stride != (1, 1):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
    left = tuple(t // 2 for t in totals)
    extra = [t - 2 * lo for t, lo in zip(totals, left)]
    if any(extra):
        input = pad(input, (0, extra[1], 0, extra[0]))
    return input, left


@float16_via_float32
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of ``input`` (N, C, H, W) or (C, H, W) with ``weight``
    (out_channels, C/groups, kH, kW); ``padding`` may be an int, a pair, 'same' or 'valid'."""
    groups = int(groups)
    _check(input, weight, bias, groups)
    stride = pair(stride, "stride")
    dilation = pair(dilation, "dilation")
    if min(stride) < 1:
        raise RuntimeError(f"non-positive stride is not supported, got stride={list(stride)}")
    if min(dilation) < 1:
        raise RuntimeError(f"dilation should be greater than zero, got dilation={list(dilation)}")
    if min(weight.shape[2:]) < 1:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{weight.shape[2]} kernel_width: {weight.shape[3]} (weight of size "
                           f"{list(weight.shape)})")
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            input, padding = _same_padding(input, weight, stride, dilation)
        else:
            raise RuntimeError(f"Invalid padding string '{padding}', should be one of "
                               "'valid' or 'same'")
    else:
        padding = pair(padding, "padding")
        if min(padding) < 0:
            raise RuntimeError(f"negative padding is not supported, got padding={list(padding)}")
    padded = [s + 2 * p for s, p in zip(input.shape[2:], padding)]
    kernel = [d * (k - 1) + 1 for d, k in zip(dilation, weight.shape[2:])]
    if any(k > s for k, s in zip(kernel, padded)):
        raise RuntimeError(f"Calculated padded input size per channel: ({padded[0]} x "
                           f"{padded[1]}). Kernel size: ({kernel[0]} x {kernel[1]}). Kernel size "
                           f"can't be greater than actual input size")
    y = Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation,
                      groups=groups)
    return y.squeeze(0) if unbatched else y


def single(v, name):
    """``int`` or length-1 sequence -> (h, v): a 1-D window argument as a unit-height pair
    (h = 0 for paddings, 1 for strides, dilations and kernel sizes)."""
    h = 0 if "padding" in name else 1
    if isinstance(v, (int, np.integer)):
        return (h, int(v))
    t = tuple(int(e) for e in v)
    if len(t) != 1:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of 1 values "
                           f"to match the convolution dimensions, but got {name}={list(t)}")
    return (h, t[0])


@float16_via_float32
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of ``input`` (N, C, L) or (C, L) with ``weight``
    (out_channels, C/groups, k); ``padding`` may be an int, 'same' or 'valid'."""
    groups = int(groups)
    _check(input, weight, bias, groups, "conv1d", dims=1)
    stride, dilation = single(stride, "stride"), single(dilation, "dilation")
    _check_window(stride, dilation, weight.shape[2:])
    unbatched = input.ndim == 2
    if unbatched:
        input = input.unsqueeze(0)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise RuntimeError(f"Invalid padding string '{padding}', should be one of "
                               "'valid' or 'same'")
        if padding == "same" and stride != (1, 1):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        total = dilation[1] * (weight.shape[2] - 1) if padding == "same" else 0
        if total % 2:
            input = pad(input, (0, 1))
        padding = (0, total // 2)
    else:
        padding = single(padding, "padding")
        if padding[1] < 0:
            raise RuntimeError(f"negative padding is not supported, got padding={padding[1]}")
    padded, kernel = input.shape[2] + 2 * padding[1], dilation[1] * (weight.shape[2] - 1) + 1
    if kernel > padded:
        raise RuntimeError(f"Calculated padded input size per channel: ({padded}). Kernel size: "
                           f"({kernel}). Kernel size can't be greater than actual input size")
    y = Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation,
                      groups=groups)
    return y.squeeze(0) if unbatched else y


def _conv_transpose(name, dims, input, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    groups = int(groups)
    _check(input, weight, bias, groups, name, dims=dims, transposed=True)
    to_pair = pair if dims == 2 else single
    for v, arg in ((stride, "stride"), (padding, "padding"), (output_padding, "output_padding"),
                   (dilation, "dilation")):
        if isinstance(v, str):
            raise TypeError(f"{name}(): argument '{arg}' must be tuple of ints, not str")
    stride, padding = to_pair(stride, "stride"), to_pair(padding, "padding")
    output_padding, dilation = to_pair(output_padding, "output_padding"), \
        to_pair(dilation, "dilation")
    _check_window(stride, dilation, weight.shape[2:])
    if min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(output_padding) < 0:
        raise RuntimeError("negative output_padding is not supported")
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but "
                           f"got output_padding_height: {output_padding[0]} output_padding_width: "
                           f"{output_padding[1]} stride_height: {stride[0]} stride_width: "
                           f"{stride[1]} dilation_height: {dilation[0]} dilation_width: "
                           f"{dilation[1]}")
    unbatched = input.ndim == dims + 1
    if unbatched:
        input = input.unsqueeze(0)
    kernel = (1,) * (2 - dims) + tuple(weight.shape[2:])
    out = [(i - 1) * s - 2 * p + d * (k - 1) + op + 1 for i, k, s, p, op, d in
           zip((1,) * (2 - dims) + tuple(input.shape[2:]), kernel, stride, padding,
               output_padding, dilation)]
    if min(out) < 1:
        raise RuntimeError(f"Given input size per channel: {list(input.shape[2:])}, calculated "
                           f"output size per channel: {out[2 - dims:]}. Output size is too small")
    y = ConvTranspose2d.apply(input, weight, bias, stride=stride, padding=padding,
                               output_padding=output_padding, dilation=dilation, groups=groups)
    return y.squeeze(0) if unbatched else y


@float16_via_float32
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution of ``input`` (N, Cin, H, W) or (Cin, H, W) with ``weight``
    (Cin, Cout/groups, kH, kW): the gradient of conv2d with respect to its input."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


@float16_via_float32
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution of ``input`` (N, Cin, L) or (Cin, L) with ``weight``
    (Cin, Cout/groups, k)."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)
