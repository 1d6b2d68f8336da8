"""``F.conv2d``: argument checks, PyTorch's messages and 'same' padding in front of the
op in ``ops/conv.py``."""
from __future__ import annotations

from ...ops.conv import Conv2d
from ._checks import check_float, check_tensor, pair
from .padding import pad

_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half"}


def _check(input, weight, bias, groups):
    check_tensor(input, "input", "conv2d")
    check_tensor(weight, "weight", "conv2d")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got "
                           f"input of size: {list(input.shape)}")
    if weight.ndim != 4:
        raise RuntimeError(f"conv2d(): weight must be 4-D (out_channels, in_channels/groups, kH, "
                           f"kW), got size {list(weight.shape)}")
    check_float(input, "input", "conv2d", kernel_dtypes=True)
    xd, wd = input._array.dtype, weight._array.dtype
    if xd != wd:
        raise RuntimeError(f"expected scalar type {_NAMES.get(xd.name, xd.name)} but found "
                           f"{_NAMES.get(wd.name, wd.name)} (input {input.dtype}, weight "
                           f"{weight.dtype})")
    if groups < 1:
        raise RuntimeError(f"non-positive groups is not supported, got groups={groups}")
    out_ch = weight.shape[0]
    if out_ch % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size {list(weight.shape)} instead")
    shape = list(input.shape) if input.ndim == 4 else [1] + list(input.shape)
    if shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
                           f"input{shape} to have {weight.shape[1] * groups} channels, but got "
                           f"{shape[1]} channels instead")
    if bias is not None:
        check_tensor(bias, "bias", "conv2d")
        if bias.ndim != 1 or bias.shape[0] != out_ch:
            raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be "
                               f"1-dimensional with {out_ch} elements, but got bias of size "
                               f"{list(bias.shape)} instead")
        if bias._array.dtype != wd:
            raise RuntimeError(f"expected bias and weight to have the same dtype, but got "
                               f"{bias.dtype} and {weight.dtype}")


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
