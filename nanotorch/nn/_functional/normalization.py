"""``F.batch_norm``, ``F.layer_norm``, ``F.group_norm`` and ``F.instance_norm``: argument
checks, PyTorch's messages and the running-statistics updates around the ops in
``ops/norm.py`` and ``ops/group_norm.py`` (instance norm is batch norm of the (1, N*C, *)
view, as in PyTorch)."""
from __future__ import annotations

import numbers

import numpy as np

from ...autograd.grad_mode import no_grad
from ...ops.group_norm import GroupNorm
from ...ops.norm import BatchNormEval, BatchNormTrain, LayerNorm
from ...tensor import Tensor
from ._checks import check_float, check_tensor
from ._half import float16_via_float32


def _check_channel(t, name, c, dtype):
    if t is None:
        return
    check_tensor(t, name, "batch_norm")
    if t.numel() != c:
        raise RuntimeError(f"batch_norm(): {name} should contain {c} elements (one per "
                           f"channel of the input), got shape {list(t.shape)}")
    if t._array.dtype != dtype:
        raise RuntimeError(f"batch_norm(): {name} dtype {t.dtype} does not match the "
                           f"input dtype")


def _check_eps(eps, training):
    if training and not eps > 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if not eps >= 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")


@float16_via_float32
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise ``input`` (N, C, *) per channel. In training, batch statistics are used
    and the running ones (when given) are updated in place with the unbiased batch
    variance; otherwise the running statistics are used."""
    check_float(input, "input", "batch_norm", kernel_dtypes=True)
    if input.ndim < 2:
        raise ValueError(f"batch_norm(): expected an input of shape (N, C, *), got shape "
                         f"{list(input.shape)}")
    c = input.shape[1]
    dt = input._array.dtype
    for t, name in ((weight, "weight"), (bias, "bias")):
        _check_channel(t, name, c, dt)
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var")):
        if t is not None:
            if not isinstance(t, Tensor) or t.numel() != c:
                raise RuntimeError(f"batch_norm(): {name} should contain {c} elements, got "
                                   f"{getattr(t, 'shape', type(t).__name__)}")
    w, b = weight, bias
    if w is not None and w.ndim != 1:
        w = w.reshape(c)
    if b is not None and b.ndim != 1:
        b = b.reshape(c)
    if training:
        count = input.numel() // c if c else 0
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {input.shape}")
        _check_eps(eps, training)
        stats = []
        out = BatchNormTrain.apply(input, w, b, eps=float(eps), stats=stats)
        _update_running(running_mean, running_var, stats, count, momentum)
        return out
    if running_mean is None or running_var is None:
        raise RuntimeError("batch_norm(): running_mean and running_var must be defined in "
                           "evaluation mode")
    _check_eps(eps, training)
    return BatchNormEval.apply(input, w, b, running_mean=running_mean._array.reshape(c),
                                running_var=running_var._array.reshape(c), eps=float(eps))


def _update_running(running_mean, running_var, stats, count, momentum):
    mean, var = stats
    m = float(momentum)
    if running_mean is not None:
        rm = running_mean._array
        new = (1.0 - m) * rm.reshape(-1) + m * np.asarray(mean, np.float64)
        rm[...] = new.astype(rm.dtype).reshape(rm.shape)
        running_mean._bump_version()
    if running_var is not None:
        rv = running_var._array
        unbiased = np.asarray(var, np.float64) * (count / (count - 1))
        new = (1.0 - m) * rv.reshape(-1) + m * unbiased
        rv[...] = new.astype(rv.dtype).reshape(rv.shape)
        running_var._bump_version()


def _as_shape(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


@float16_via_float32
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing ``normalized_shape`` axes of ``input``."""
    check_float(input, "input", "layer_norm", kernel_dtypes=True)
    shape = _as_shape(normalized_shape)
    k = len(shape)
    if k == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    if k > input.ndim or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in shape)}], but got input of size"
                           f"{list(input.shape)}")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None:
            check_tensor(t, name, "layer_norm")
            if tuple(t.shape) != shape:
                raise RuntimeError(f"layer_norm(): expected {name} of shape {list(shape)}, "
                                   f"got {list(t.shape)}")
            if t._array.dtype != input._array.dtype:
                raise RuntimeError(f"layer_norm(): {name} dtype {t.dtype} does not match the "
                                   f"input dtype {input.dtype}")
    return LayerNorm.apply(input, weight, bias, ndim=k, eps=float(eps))


@float16_via_float32
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise ``input`` (N, C, *) over each group of C/num_groups channels (and all
    positions), then scale and shift per channel."""
    check_float(input, "input", "group_norm", kernel_dtypes=True)
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    c = input.shape[1]
    if num_groups < 1 or c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None:
            check_tensor(t, name, "group_norm")
            if t.ndim != 1 or t.shape[0] != c:
                raise RuntimeError(f"Expected {name} to be a vector of size equal to the number "
                                   f"of channels in input, but got {name} of shape "
                                   f"{list(t.shape)} and input of shape {list(input.shape)}")
            if t._array.dtype != input._array.dtype:
                raise RuntimeError(f"group_norm(): {name} dtype {t.dtype} does not match the "
                                   f"input dtype {input.dtype}")
    return GroupNorm.apply(input, weight, bias, groups=int(num_groups), eps=float(eps))


@float16_via_float32
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) plane of ``input`` (N, C, *) with its own statistics
    (``use_input_stats``) or the running ones; the running statistics, when given, are
    updated with the batch mean of the per-instance ones."""
    check_float(input, "input", "instance_norm", kernel_dtypes=True)
    if input.ndim < 2:
        raise ValueError(f"instance_norm(): expected an input of shape (N, C, *), got shape "
                         f"{list(input.shape)}")
    n, c = input.shape[:2]
    if use_input_stats and int(np.prod(input.shape[2:])) <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{input.shape}")
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        if t is not None:
            check_tensor(t, name, "instance_norm")
            if t.numel() != c:
                raise RuntimeError(f"{name} should contain {n * c} elements not {t.numel() * n}")
    flat = input.reshape((1, n * c) + tuple(input.shape[2:]))
    w = None if weight is None else weight.repeat(n)
    b = None if bias is None else bias.repeat(n)
    with no_grad():
        rm = None if running_mean is None else running_mean.repeat(n)
        rv = None if running_var is None else running_var.repeat(n)
    out = batch_norm(flat, rm, rv, w, b, use_input_stats, momentum, eps)
    if use_input_stats:  # fold the per-instance running statistics back to per channel
        for t, per_instance in ((running_mean, rm), (running_var, rv)):
            if t is not None:
                t._array[...] = per_instance._array.reshape(n, c).mean(0).astype(t._array.dtype)
                t._bump_version()
    return out.reshape(input.shape)
