"""Loss functions (``F.cross_entropy``, ``F.nll_loss``, ``F.mse_loss`` ...): reductions,
argument checks and PyTorch's messages in front of the ops in ``ops/loss.py``."""
from __future__ import annotations

import warnings

import numpy as np

from ..._dtype import result_type, scalar_name
from ...ops import loss as L
from ._checks import check_float, check_tensor
from ._half import float16_via_float32

_REDUCTIONS = ("none", "mean", "sum")


def _legacy_reduction(size_average, reduce, reduction):
    """Map the deprecated ``size_average``/``reduce`` pair onto ``reduction``."""
    if size_average is None and reduce is None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{reduction} is not a valid value for reduction")
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "none" if not reduce else "mean" if size_average else "sum"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{result}' instead.", UserWarning, stacklevel=3)
    return result


def _check_class_scores(input, target, fn):
    """Checks common to cross_entropy and nll_loss."""
    check_float(input, "input", fn, kernel_dtypes=True)
    check_tensor(target, "target", fn)
    if input.ndim == 0:
        raise RuntimeError(f"{fn}(): input must have a class dimension, got a 0-d tensor")


def _check_index_target(input, target, ignore_index, fn):
    """Class-index target: integer dtype, shape input.shape without the class axis,
    every entry in [0, C) or ignore_index."""
    shape = tuple(input.shape)
    c = shape[0] if len(shape) == 1 else shape[1]
    batch = () if len(shape) == 1 else (shape[0],) + shape[2:]
    if target._array.dtype.kind not in "iu":
        raise RuntimeError(f"{fn}(): expected a target of class indices (int64) with shape "
                           f"{list(batch)} or class probabilities of the input's shape "
                           f"{list(shape)}, got a {target.dtype} target of shape "
                           f"{list(target.shape)}")
    if tuple(target.shape) != batch:
        raise ValueError(f"{fn}(): expected target of shape {list(batch)} for input of shape "
                         f"{list(shape)}, got {list(target.shape)}")
    t = target._array
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds: {fn}() has "
                         f"{c} classes (valid indices 0..{c - 1}, or "
                         f"ignore_index={ignore_index})")


@float16_via_float32(promote=True)
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` (N, C, *) or (C,) and ``target``: class
    indices (int64, shape (N, *)) or class probabilities (float, input's shape)."""
    fn = "cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_class_scores(input, target, fn)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    t = target._array
    if t.dtype.kind == "f" and tuple(target.shape) == tuple(input.shape):
        op = L.CrossEntropyProbMean if reduction == "mean" else L.CrossEntropyProb
        if t.dtype != input._array.dtype:
            raise RuntimeError(f"{fn}(): probability target dtype {target.dtype} does not "
                               f"match input dtype {input.dtype}")
        if target.requires_grad:
            raise NotImplementedError(f"{fn}(): gradient w.r.t. a probability target is "
                                      f"not supported")
    else:
        _check_index_target(input, target, ignore_index, fn)
        op = (L.CrossEntropySmoothed if label_smoothing > 0 else
              L.nll_name(L.CrossEntropy, L.CrossEntropy2D, L.CrossEntropyView, input, reduction))
    _class_weight(weight, input, fn)
    return op.apply(input, weight, target=t, ignore_index=int(ignore_index),
                               reduction=reduction, label_smoothing=float(label_smoothing))


def _class_weight(weight, input, fn):
    if weight is None:
        return None
    check_tensor(weight, "weight", fn)
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    if tuple(weight.shape) != (c,):
        raise RuntimeError(f"{fn}(): weight tensor should be defined either for all {c} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    if weight._array.dtype != input._array.dtype:
        raise RuntimeError(f"{fn}(): weight dtype {weight.dtype} does not match input dtype "
                           f"{input.dtype}")
    return weight._array


@float16_via_float32(promote=True)
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, *) or (C,) at the
    class indices ``target`` (N, *)."""
    fn = "nll_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_class_scores(input, target, fn)
    _check_index_target(input, target, ignore_index, fn)
    _class_weight(weight, input, fn)
    op = L.nll_name(L.NllLoss, L.NllLoss2D, L.NllLossView, input, reduction)
    return op.apply(input, weight, target=target._array, ignore_index=int(ignore_index),
                          reduction=reduction)


# ---------------------------------------------------------------- elementwise losses

def _promoted(input, target, fn):
    """Both operands in their promoted dtype, as PyTorch's pointwise losses take them (a
    float input with an integer target computes in the input's dtype)."""
    check_tensor(input, "input", fn)
    check_tensor(target, "target", fn)
    dt = result_type(input, target)
    return (input if input.dtype is dt else input.to(dt),
            target if target.dtype is dt else target.to(dt))


def _check_input_target(input, target, fn):
    check_float(input, "input", fn, kernel_dtypes=True)
    check_tensor(target, "target", fn)
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due "
                      f"to broadcasting. Please ensure they have the same size.",
                      UserWarning, stacklevel=3)
    if target._array.dtype != input._array.dtype:
        raise RuntimeError(f"{fn}(): target dtype {target.dtype} does not match input dtype "
                           f"{input.dtype}")
    try:
        shape = np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise RuntimeError(f"{fn}(): the size of input {list(input.shape)} and target "
                           f"{list(target.shape)} cannot be broadcast together") from None
    return shape


@float16_via_float32(promote=True)
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error (squared L2) between ``input`` and ``target``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    input, target = _promoted(input, target, "mse_loss")
    _check_input_target(input, target, "mse_loss")
    if weight is not None:
        raise NotImplementedError("mse_loss(): weight is not supported")
    return L.MseLoss.apply(input, target, reduction=reduction)


@float16_via_float32(promote=True)
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error between ``input`` and ``target``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    input, target = _promoted(input, target, "l1_loss")
    _check_input_target(input, target, "l1_loss")
    if weight is not None:
        raise NotImplementedError("l1_loss(): weight is not supported")
    op = {"mean": L.L1Loss, "sum": L.L1LossSum, "none": L.L1LossNone}[reduction]
    return op.apply(input, target, reduction=reduction)


@float16_via_float32(promote=True)
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",
                   beta=1.0):
    """Huber-like loss: quadratic below ``beta``, linear above."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, got "
                           f"{beta}")
    if beta == 0.0:  # exactly L1 (and PyTorch names its grad_fn so)
        return l1_loss(input, target, reduction=reduction)
    input, target = _promoted(input, target, "smooth_l1_loss")
    _check_input_target(input, target, "smooth_l1_loss")
    return L.SmoothL1Loss.apply(input, target, reduction=reduction, beta=float(beta))


@float16_via_float32(promote=True)
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy between probabilities ``input`` and ``target`` (same shape)."""
    fn = "binary_cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    check_float(input, "input", fn, kernel_dtypes=True)
    check_tensor(target, "target", fn)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the "
                         f"input size ({input.shape}) is deprecated. Please ensure they have "
                         f"the same size.")
    if target._array.dtype != input._array.dtype:  # PyTorch's message
        raise RuntimeError(f"Found dtype {scalar_name(target.dtype)} but expected "
                           f"{scalar_name(input.dtype)}")
    xa = input._array
    if xa.size and not ((xa >= 0) & (xa <= 1)).all():
        raise RuntimeError(f"{fn}(): all elements of input should be between 0 and 1, got "
                           f"values in [{xa.min()}, {xa.max()}]")
    if weight is not None:
        check_tensor(weight, "weight", fn)
        try:
            np.broadcast_to(weight._array, input.shape)
        except ValueError:
            raise RuntimeError(f"{fn}(): weight of shape {list(weight.shape)} cannot be "
                               f"broadcast to the input shape {list(input.shape)}") from None
    return L.BinaryCrossEntropy.apply(input, target, weight, reduction=reduction)


@float16_via_float32(promote=True)
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Binary cross-entropy on logits (a stable sigmoid + BCE); ``weight`` and
    ``pos_weight`` broadcast against ``input``."""
    fn = "binary_cross_entropy_with_logits"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    check_float(input, "input", fn, kernel_dtypes=True)
    check_tensor(target, "target", fn)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    if target._array.dtype != input._array.dtype:
        raise RuntimeError(f"{fn}(): target dtype {target.dtype} does not match input dtype "
                           f"{input.dtype}")
    for t, name in ((weight, "weight"), (pos_weight, "pos_weight")):
        if t is not None:
            check_tensor(t, name, fn)
            try:
                np.broadcast_to(t._array, input.shape)
            except ValueError:
                raise RuntimeError(f"{fn}(): {name} of shape {list(t.shape)} cannot be "
                                   f"broadcast to the input shape {list(input.shape)}") from None
            if t._array.dtype != input._array.dtype:
                raise RuntimeError(f"{fn}(): {name} dtype {t.dtype} does not match input "
                                   f"dtype {input.dtype}")
    return L.BCEWithLogits.apply(input, target, weight, pos_weight, reduction=reduction)
