"""Gradient clipping: by global norm (``clip_grad_norm_``) and by value
(``clip_grad_value_``)."""
from __future__ import annotations

import math

import numpy as np

from ...tensor import Tensor


def _tensors(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _norm(arr, norm_type):
    a = arr.reshape(-1)
    if norm_type == math.inf:
        return np.max(np.abs(a)) if a.size else a.dtype.type(0)
    if norm_type == -math.inf:
        return np.min(np.abs(a)) if a.size else a.dtype.type(math.inf)
    if norm_type == 2:
        return np.sqrt(np.dot(a, a))
    if norm_type == 1:
        return np.sum(np.abs(a))
    if norm_type == 0:
        return a.dtype.type(np.count_nonzero(a))
    return np.sum(np.abs(a) ** norm_type) ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type`` norm of all ``tensors`` taken together, as a 0-d tensor."""
    tensors = [t for t in _tensors(tensors) if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._wrap(np.asarray(0.0, dtype=np.float32))
    dtype = tensors[0]._array.dtype
    norms = np.array([_norm(t._array, norm_type) for t in tensors], dtype=dtype)
    total = np.asarray(_norm(norms, norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    return Tensor._wrap(total)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients by ``max_norm / (total_norm + 1e-6)`` when that is below 1."""
    grads = [p.grad for p in _tensors(parameters) if p.grad is not None]
    if not grads:
        return
    total = float(total_norm.item() if isinstance(total_norm, Tensor) else total_norm)
    coef = float(max_norm) / (total + 1e-6)
    if coef >= 1.0:  # PyTorch multiplies by the clamped coefficient 1.0: a no-op
        return
    for g in grads:
        arr = g._array
        if not arr.flags.writeable:
            g._array = arr = arr.copy()
        np.multiply(arr, arr.dtype.type(coef), out=arr)
        g._bump_version()


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Rescale the gradients of ``parameters`` in place so that their global
    ``norm_type`` norm is at most ``max_norm``. Returns the norm before clipping."""
    params = _tensors(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient of ``parameters`` to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    for p in _tensors(parameters):
        if p.grad is None:
            continue
        arr = p.grad._array
        if not arr.flags.writeable:
            p.grad._array = arr = arr.copy()
        np.clip(arr, -clip_value, clip_value, out=arr)
        p.grad._bump_version()
