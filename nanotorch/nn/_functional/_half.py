"""float16 through the layers whose compiled kernels take float32/float64 only.

PyTorch's CPU computes half convolutions, pooling, normalisation, interpolation and losses
in float32 (its "opmath" type) and rounds the result to half; the wrapper does the same
around the float32 kernels, with autograd through the two casts (gradients come back in
float16). The result is half when ``input`` is (layers: float32 weights or running
statistics allowed, as PyTorch's mixed batch norm) or, with ``promote``, when every floating
argument is (losses: a float32 target promotes the loss to float32)."""
from __future__ import annotations

import functools

import numpy as np

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor

_HALF = np.dtype(np.float16)


def _is_half(x):
    return isinstance(x, Tensor) and x._array.dtype == _HALF


def float16_via_float32(fn=None, *, promote=False):
    """``fn`` taking float16 tensors (its ``input`` first) by computing in float32."""
    if fn is None:
        return functools.partial(float16_via_float32, promote=promote)

    @functools.wraps(fn)
    def wrapper(input, *args, **kwargs):
        if not _is_half(input):
            return fn(input, *args, **kwargs)
        ups = []  # (half original, float32 copy) of tensors the function may update in place

        def up(x):
            if not _is_half(x):
                return x
            y = x.float()
            if not x.requires_grad:
                ups.append((x, y, y._version))
            return y
        half_out = not promote or all(_is_half(x) for x in (*args, *kwargs.values())
                                      if isinstance(x, Tensor) and x.is_floating_point())
        result = fn(up(input), *(up(a) for a in args), **{k: up(v) for k, v in kwargs.items()})
        with no_grad():
            for x, y, version in ups:  # running statistics updated by batch/instance norm
                if y._version != version:
                    x.copy_(y)
        if not half_out:
            return result
        if isinstance(result, tuple):
            return type(result)(_down(r) for r in result)
        return _down(result)
    return wrapper


def _down(x):
    if isinstance(x, Tensor) and x._array.dtype == np.float32:
        return x.half()
    return x
