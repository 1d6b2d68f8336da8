"""The losses written as compositions of differentiable tensor ops (their gradients come
from those ops): KL divergence, Huber, the margin and embedding losses, Poisson and
Gaussian NLL, multi-label soft margin. PyTorch's formulas and argument checks."""
from __future__ import annotations

import math
import warnings

from ...functions import where
from ._checks import check_tensor
from .activation import logsigmoid, softplus
from .distance import pairwise_distance
from .loss import _legacy_reduction, _promoted


def _in_dtype(loss, dtype):
    """``loss`` in the input's floating dtype: PyTorch's huber and soft-margin losses compute
    with the promoted target but write into an output of the input's dtype."""
    return loss.to(dtype) if dtype.is_floating_point and loss.dtype != dtype else loss


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(target || exp(input)) pointwise: ``target * (log target - input)``; reduction
    ``batchmean`` divides the sum by the batch size."""
    check_tensor(input, "input", "kl_div")
    check_tensor(target, "target", "kl_div")
    if not input.is_floating_point() or not target.is_floating_point():
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if reduction == "batchmean":
        batch = input.shape[0] if input.ndim else 1
        reduction_ = "sum"
    else:
        reduction_ = _legacy_reduction(size_average, reduce, reduction)
        if reduction_ == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                          "the support size.'batchmean' divides only by the batch size, and "
                          "aligns with the KL div math definition.'mean' will be changed to "
                          "behave the same as 'batchmean' in the next major release.",
                          UserWarning, stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        safe = where(target > 0, target, 1.0)
        loss = where(target > 0, target * safe.log(), 0.0) - target * input
    loss = _reduce(loss, reduction_)
    return loss / batch if reduction == "batchmean" else loss


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d**2`` for ``|d| < delta``, else ``delta * (|d| - 0.5 delta)``."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    out_dtype = input.dtype
    input, target = _promoted(input, target, "huber_loss")
    d = (input - target).abs()
    loss = _in_dtype(where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), out_dtype)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, _legacy_reduction(None, None, reduction))


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """``log(1 + exp(-target * input))`` for targets in {1, -1}."""
    out_dtype = input.dtype
    input, target = _promoted(input, target, "soft_margin_loss")
    loss = _in_dtype(softplus(-target * input), out_dtype)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)``."""
    if not (input1.ndim == input2.ndim == target.ndim):
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.shape}, input2: {input2.shape}, "
                           f"target: {target.shape} ")
    loss = (-target * (input1 - input2) + margin).clamp_min(0)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """``input`` where target is 1, ``max(0, margin - input)`` where it is -1."""
    clamped = (margin - input).clamp_min(0)
    loss = where(target != 1, clamped, 0.0) + where(target != -1, input, 0.0)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """``max(d(a, p) - d(a, n) + margin, 0)`` with the pairwise p-norm distance ``d``."""
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have "
                           f"the same number of dimensions, but got: anchor {anchor.ndim}D, "
                           f"positive {positive.ndim}D, and negative {negative.ndim}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    loss = (margin + d_pos - d_neg).clamp_min(0)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """``1 - cos(x1, x2)`` where target is 1, ``max(0, cos(x1, x2) - margin)`` where -1."""
    if input1.ndim not in (1, 2) or input1.shape != input2.shape:
        raise RuntimeError(f"cosine_embedding_loss(): expected 1D or 2D inputs of the same "
                           f"shape, got {list(input1.shape)} and {list(input2.shape)}")
    if target.ndim == 1 and input1.ndim != 2:
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    dim = input1.ndim - 1
    eps = 1e-12  # PyTorch adds this to each squared magnitude
    prod = (input1 * input2).sum(dim)
    denom = (((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)).sqrt()
    cos = prod / denom
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, (cos - margin).clamp_min(0),
                                                    0.0)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """``exp(input) - target * input`` (``log_input``) or ``input - target * log(input +
    eps)``; ``full`` adds Stirling's term for targets above 1."""
    check_tensor(input, "input", "poisson_nll_loss")
    if log_input:  # computed in input's dtype, then promoted with target's, as PyTorch
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        safe = where(target > 1, target, 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + where(target > 1, stirling, 0.0)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """``0.5 * (log var + (input - target)**2 / var)`` with ``var`` clamped to ``eps`` (the
    clamp passes gradients through, as PyTorch's); ``var`` may omit input's last dim or
    have size 1 there."""
    if isinstance(var, (int, float)):
        var = input.new_full(tuple(input.shape), float(var))
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if (var._array < 0).any():
        raise ValueError("var has negative entry/entries")
    var = var + (var.clamp_min(eps) - var).detach()
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Per-class logistic loss averaged over the classes (the last dim)."""
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))
