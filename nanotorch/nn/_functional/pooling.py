"""2-D pooling: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``: window arguments,
checks and PyTorch's messages in front of the ops in ``ops/pool.py``. Inputs are
(N, C, H, W) or unbatched (C, H, W)."""
from __future__ import annotations

import numpy as np

from ...ops.pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from ...tensor import Tensor
from ._checks import check_float, check_tensor, pair


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


def _adaptive_size(input, output_size):
    size = (output_size, output_size) if isinstance(output_size, (int, np.integer)) or \
        output_size is None else tuple(output_size)
    if len(size) != 2:
        raise RuntimeError(f"adaptive_avg_pool2d: output_size must be 2, got {len(size)}")
    size = tuple(int(input.shape[-2 + i]) if o is None else int(o) for i, o in enumerate(size))
    if min(size) < 1:
        raise RuntimeError(f"adaptive_avg_pool2d: elements of output_size must be positive, "
                           f"but received {list(size)}")
    return size


def adaptive_avg_pool2d(input, output_size):
    """Average over the windows [floor(i*H/oh), ceil((i+1)*H/oh)) giving an ``output_size``
    output; a ``None`` entry keeps that input size."""
    _check_input("adaptive_avg_pool2d", input)
    size = _adaptive_size(input, output_size)
    return _batched(input, lambda x: AdaptiveAvgPool2d.apply(x, output_size=size))
