"""Pooling: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``, ``adaptive_max_pool2d``
(inputs (N, C, H, W) or unbatched (C, H, W)) and their 1-D forms (inputs (N, C, L) or (C, L),
run as 2-D pooling of unit height): window arguments, checks and PyTorch's messages in front
of the ops in ``ops/pool.py``."""
from __future__ import annotations

import numpy as np

from ...ops.pool import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d
from ...tensor import Tensor
from ._checks import check_float, check_tensor, pair
from ._half import float16_via_float32


def _check_input(name, input):
    check_tensor(input, "input", name)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{name}(): Expected 3D or 4D tensor (C, H, W) or (N, C, H, W), "
                           f"but got input of size: {list(input.shape)}")
    check_float(input, "input", name, kernel_dtypes=True)
    if any(s == 0 for s in input.shape[-3:]):
        raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                           f"dimensions, but input has sizes {list(input.shape)}")


def _window_args(input, kernel_size, stride, padding, dilation, ceil_mode):
    """Validated (kernel_size, stride, padding, dilation) pairs, PyTorch's rules/messages."""
    k = pair(kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else pair(stride, "stride")
    p = pair(padding, "padding")
    d = pair(dilation, "dilation")
    if min(k) < 1:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_size={k}")
    if min(s) < 1:
        raise RuntimeError(f"stride should be greater than zero, but got stride={s}")
    if min(d) < 1:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation={d}")
    if min(p) < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {min(p)} (padding={p})")
    for i in range(2):
        if p[i] > k[i] // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p[i]}, kernel_size={k[i]} and dilation={d[i]}")
    out = []
    for size, ki, si, pi, di in zip(input.shape[-2:], k, s, p, d):
        o = (size + 2 * pi - di * (ki - 1) - 1 + (si - 1 if ceil_mode else 0)) // si + 1
        if ceil_mode and (o - 1) * si >= size + pi:
            o -= 1
        out.append(o)
    if min(out) <= 0:
        C, H, W = input.shape[-3:]
        raise RuntimeError(f"Given input size: ({C}x{H}x{W}). Calculated output size: "
                           f"({C}x{out[0]}x{out[1]}). Output size is too small")
    return k, s, p, d


def _batched(input, fn):
    """Run ``fn`` on a 4-D view of ``input`` (adding / removing the batch dim if unbatched)."""
    if input.ndim == 4:
        return fn(input)
    out = fn(input.unsqueeze(0))
    return tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)


@float16_via_float32
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over (dilated) windows with -inf padding; with ``return_indices`` also the flat
    argmax index of each output into its H*W input plane."""
    _check_input("max_pool2d", input)
    k, s, p, d = _window_args(input, kernel_size, stride, padding, dilation, ceil_mode)

    def run(x):
        sink = [] if return_indices else None
        y = MaxPool2d.apply(x, kernel_size=k, stride=s, padding=p, dilation=d,
                             ceil_mode=bool(ceil_mode), sink=sink)
        return (y, Tensor._wrap(sink[0])) if return_indices else y
    return _batched(input, run)


@float16_via_float32
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over windows with zero padding; ``count_include_pad`` counts padded cells in the
    divisor, ``divisor_override`` replaces it."""
    _check_input("avg_pool2d", input)
    k, s, p, _ = _window_args(input, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("avg_pool2d(): divisor must be not zero, got divisor_override=0")
    params = (k, s, p, bool(ceil_mode), bool(count_include_pad), divisor_override)
    return _batched(input, lambda x: AvgPool2d.apply(x, params=params))


def _adaptive_size(input, output_size, name="adaptive_avg_pool2d"):
    size = (output_size, output_size) if isinstance(output_size, (int, np.integer)) or \
        output_size is None else tuple(output_size)
    if len(size) != 2:
        raise RuntimeError(f"{name}: output_size must be 2, got {len(size)}")
    size = tuple(int(input.shape[-2 + i]) if o is None else int(o) for i, o in enumerate(size))
    if min(size) < 1:
        raise RuntimeError(f"{name}: elements of output_size must be positive, "
                           f"but received {list(size)}")
    return size


@float16_via_float32
def adaptive_avg_pool2d(input, output_size):
    """Average over the windows [floor(i*H/oh), ceil((i+1)*H/oh)) giving an ``output_size``
    output; a ``None`` entry keeps that input size."""
    _check_input("adaptive_avg_pool2d", input)
    size = _adaptive_size(input, output_size)
    return _batched(input, lambda x: AdaptiveAvgPool2d.apply(x, output_size=size))


@float16_via_float32
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over the windows of ``adaptive_avg_pool2d``; with ``return_indices`` also the flat
    argmax index of each output into its H*W input plane."""
    _check_input("adaptive_max_pool2d", input)
    size = _adaptive_size(input, output_size, "adaptive_max_pool2d")

    def run(x):
        sink = [] if return_indices else None
        y = AdaptiveMaxPool2d.apply(x, output_size=size, sink=sink)
        return (y, Tensor._wrap(sink[0])) if return_indices else y
    return _batched(input, run)


# ------------------------------------------------------------------ 1-D, as unit-height 2-D

def _one(v, name, fn):
    """A 1-D window argument (int or length-1 sequence) as an int."""
    if isinstance(v, (int, np.integer)):
        return int(v)
    t = tuple(v)
    if len(t) != 1:
        raise RuntimeError(f"{fn}() argument '{name}' should contain one int (got {len(t)})")
    return int(t[0])


def _check_1d(name, input, max_pool=False):
    check_tensor(input, "input", name)
    if input.ndim not in (2, 3):
        if max_pool:
            raise RuntimeError(f"{name}: Expected 2D or 3D (batch mode) tensor with optional 0 "
                               f"dim batch size for input, but got:{list(input.shape)}")
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional "
                           f"tensor for argument #1 'self' (while checking arguments for {name})")


def _unit_height(input, fn):
    """``fn`` on ``input`` (.., L) viewed as (.., 1, L); the result's unit height removed."""
    out = fn(input.unsqueeze(-2))
    return tuple(o.squeeze(-2) for o in out) if isinstance(out, tuple) else out.squeeze(-2)


@float16_via_float32
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over (dilated) windows of the last axis; indices are positions along it."""
    _check_1d("max_pool1d", input, max_pool=True)
    k = _one(kernel_size, "kernel_size", "max_pool1d")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _one(stride, "stride", "max_pool1d")
    p, d = _one(padding, "padding", "max_pool1d"), _one(dilation, "dilation", "max_pool1d")
    if k > 0 and p > k // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but got "
                           f"padding={p} and kernel_size={k}")
    if k > 0 and s > 0 and d > 0 and p >= 0:
        size = input.shape[-1]
        out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (out - 1) * s >= size + p:
            out -= 1
        if out < 1:
            raise RuntimeError(f"max_pool1d() Invalid computed output size: {out}")
    return _unit_height(input, lambda x: max_pool2d(x, (1, k), (1, s), (0, p), (1, d),
                                                    ceil_mode, return_indices))


@float16_via_float32
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over windows of the last axis with zero padding."""
    _check_1d("avg_pool1d", input)
    k = _one(kernel_size, "kernel_size", "avg_pool1d")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _one(stride, "stride", "avg_pool1d")
    p = _one(padding, "padding", "avg_pool1d")
    return _unit_height(input, lambda x: avg_pool2d(x, (1, k), (1, s), (0, p), ceil_mode,
                                                    count_include_pad))


@float16_via_float32
def adaptive_avg_pool1d(input, output_size):
    """Average over the windows [floor(i*L/o), ceil((i+1)*L/o)) of the last axis."""
    _check_1d("adaptive_avg_pool1d", input)
    o = _one(output_size, "output_size", "adaptive_avg_pool1d")
    return _unit_height(input, lambda x: adaptive_avg_pool2d(x, (1, o)))


@float16_via_float32
def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over the windows of ``adaptive_avg_pool1d``; indices are positions along L."""
    _check_1d("adaptive_max_pool1d", input)
    o = _one(output_size, "output_size", "adaptive_max_pool1d")
    return _unit_height(input, lambda x: adaptive_max_pool2d(x, (1, o), return_indices))
