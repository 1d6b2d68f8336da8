"""Loss functions (``F.cross_entropy``, ``F.nll_loss``, ``F.mse_loss`` ...): one op each,
the classification ones around ``kernels/loss.py``."""
from __future__ import annotations

import warnings

import numpy as np

from ...autograd.function import Op
from ...kernels import loss as K
from ...tensor import Tensor

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


def _check_tensor(t, name, fn):
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(t).__name__}")


def _check_float(t, name, fn):
    _check_tensor(t, name, fn)
    if t._array.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{fn}(): expected a float32 or float64 {name}, got {t.dtype}")


def _opt_array(t, name, fn):
    if t is None:
        return None
    _check_tensor(t, name, fn)
    return t._array


def _grad_array(g, dtype):
    return np.asarray(g._array, dtype=dtype)


# ----------------------------------------------------------- cross entropy / NLL

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


class _CrossEntropy(Op, backward_name="NllLossBackward0"):
    """Fused log-softmax + NLL; keeps only a per-position logsumexp for backward."""

    once_differentiable = True

    def forward(self, x, weight, target, ignore_index, reduction, label_smoothing):
        self.params = (weight, ignore_index, reduction, label_smoothing)
        loss, self.aux = K.cross_entropy_forward(x, target, weight, ignore_index, reduction,
                                                 label_smoothing)
        self.target = target
        self.save_inputs(0)
        return loss

    def backward(self, g):
        (x,) = self.saved_tensors
        weight, ignore_index, reduction, label_smoothing = self.params
        gx = None
        if self.needs_input_grad[0]:
            gx = K.cross_entropy_backward(_grad_array(g, np.float64), x._array, self.target,
                                          self.aux, weight, ignore_index, reduction,
                                          label_smoothing)
            gx = Tensor._wrap(gx)
        return gx, None

    def _release_extra(self):
        self.aux = self.target = self.params = None


# PyTorch's grad_fn name depends on the case (its cross_entropy is a composite):
class _CrossEntropy2D(_CrossEntropy, backward_name="NllLoss2DBackward0"):
    pass


class _CrossEntropyView(_CrossEntropy, backward_name="ViewBackward0"):
    pass


def _nll_name(base, d2, view, input, reduction):
    """PyTorch runs N-d inputs through its 4-d kernel and views 'none' results back."""
    if input.ndim < 3:
        return base
    return view if input.ndim != 4 and reduction == "none" else d2


class _CrossEntropySmoothed(_CrossEntropy, backward_name="AddBackward0"):
    pass


class _CrossEntropyProbMean(_CrossEntropy, backward_name="DivBackward1"):
    pass


class _CrossEntropyProb(_CrossEntropy, backward_name="NegBackward0"):
    pass


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` (N, C, *) or (C,) and ``target``: class
    indices (int64, shape (N, *)) or class probabilities (float, input's shape)."""
    fn = "cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_float(input, "input", fn)
    _check_tensor(target, "target", fn)
    if input.ndim == 0:
        raise RuntimeError(f"{fn}(): input must have a class dimension, got a 0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    t = target._array
    if t.dtype.kind == "f" and tuple(target.shape) == tuple(input.shape):
        op = _CrossEntropyProbMean if reduction == "mean" else _CrossEntropyProb
        if t.dtype != input._array.dtype:
            raise RuntimeError(f"{fn}(): probability target dtype {target.dtype} does not "
                               f"match input dtype {input.dtype}")
        if target.requires_grad:
            raise NotImplementedError(f"{fn}(): gradient w.r.t. a probability target is "
                                      f"not supported")
    else:
        _check_index_target(input, target, ignore_index, fn)
        op = (_CrossEntropySmoothed if label_smoothing > 0 else
              _nll_name(_CrossEntropy, _CrossEntropy2D, _CrossEntropyView, input, reduction))
    _class_weight(weight, input, fn)
    return op.apply(input, weight, target=t, ignore_index=int(ignore_index),
                               reduction=reduction, label_smoothing=float(label_smoothing))


def _class_weight(weight, input, fn):
    if weight is None:
        return None
    _check_tensor(weight, "weight", fn)
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    if tuple(weight.shape) != (c,):
        raise RuntimeError(f"{fn}(): weight tensor should be defined either for all {c} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    if weight._array.dtype != input._array.dtype:
        raise RuntimeError(f"{fn}(): weight dtype {weight.dtype} does not match input dtype "
                           f"{input.dtype}")
    return weight._array


class _NllLoss(Op, backward_name="NllLossBackward0"):
    once_differentiable = True

    def forward(self, x, weight, target, ignore_index, reduction):
        loss, self.total = K.nll_loss_forward(x, target, weight, ignore_index, reduction)
        self.params = (target, weight, ignore_index, reduction)
        self.save_inputs(0)
        return loss

    def backward(self, g):
        (x,) = self.saved_tensors
        target, weight, ignore_index, reduction = self.params
        gx = None
        if self.needs_input_grad[0]:
            gx = Tensor._wrap(K.nll_loss_backward(_grad_array(g, np.float64), x._array, target,
                                                  weight, ignore_index, reduction, self.total))
        return gx, None

    def _release_extra(self):
        self.params = None


class _NllLoss2D(_NllLoss, backward_name="NllLoss2DBackward0"):
    pass


class _NllLossView(_NllLoss, backward_name="ViewBackward0"):
    pass


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, *) or (C,) at the
    class indices ``target`` (N, *)."""
    fn = "nll_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_float(input, "input", fn)
    _check_tensor(target, "target", fn)
    if input.ndim == 0:
        raise RuntimeError(f"{fn}(): input must have a class dimension, got a 0-d tensor")
    _check_index_target(input, target, ignore_index, fn)
    _class_weight(weight, input, fn)
    op = _nll_name(_NllLoss, _NllLoss2D, _NllLossView, input, reduction)
    return op.apply(input, weight, target=target._array, ignore_index=int(ignore_index),
                          reduction=reduction)


# ---------------------------------------------------------------- elementwise losses

def _pair(input, target, fn):
    _check_float(input, "input", fn)
    _check_tensor(target, "target", fn)
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


def _reduce(per_elem, reduction, dtype):
    if reduction == "none":
        return per_elem.astype(dtype, copy=False)
    total = per_elem.sum(dtype=np.float64)
    if reduction == "mean":
        total = total / per_elem.size if per_elem.size else np.nan
    return np.asarray(total, dtype=dtype)


def _scale_grad(g, reduction, shape, dtype):
    """Upstream gradient as a per-element factor (broadcastable to ``shape``)."""
    ga = np.asarray(g._array, dtype=dtype)
    if reduction == "mean":
        n = int(np.prod(shape))
        return ga / n if n else ga
    return ga


class _Pointwise(Op):
    """Elementwise loss of (input, target) with d/dinput = dfn and d/dtarget = -dfn."""

    once_differentiable = True

    def forward(self, x, y, reduction, **kw):
        self.reduction, self.kw = reduction, kw
        self.save_inputs(0, 1)
        return _reduce(self.value(x, y, **kw), reduction, x.dtype)

    def backward(self, g):
        x, y = self.saved_tensors
        xa, ya = x._array, y._array
        shape = np.broadcast_shapes(xa.shape, ya.shape)
        d = self.deriv(xa, ya, **self.kw) * _scale_grad(g, self.reduction, shape, xa.dtype)
        need_x, need_y = self.needs_input_grad
        return (Tensor._wrap(d) if need_x else None), (Tensor._wrap(-d) if need_y else None)

    def _release_extra(self):
        self.kw = None


class _MseLoss(_Pointwise, backward_name="MseLossBackward0"):
    @staticmethod
    def value(x, y):
        d = x - y
        return d * d

    @staticmethod
    def deriv(x, y):
        return 2 * (x - y)


class _L1Loss(_Pointwise, backward_name="MeanBackward0"):
    @staticmethod
    def value(x, y):
        return np.abs(x - y)

    @staticmethod
    def deriv(x, y):
        return np.sign(x - y)


class _L1LossSum(_L1Loss, backward_name="SumBackward0"):
    pass


class _L1LossNone(_L1Loss, backward_name="AbsBackward0"):
    pass


class _SmoothL1Loss(_Pointwise, backward_name="SmoothL1LossBackward0"):
    @staticmethod
    def value(x, y, beta):
        d = np.abs(x - y)
        if beta == 0:
            return d
        return np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)

    @staticmethod
    def deriv(x, y, beta):
        d = x - y
        if beta == 0:
            return np.sign(d)
        return np.where(np.abs(d) < beta, d / beta, np.sign(d))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error (squared L2) between ``input`` and ``target``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _pair(input, target, "mse_loss")
    if weight is not None:
        raise NotImplementedError("mse_loss(): weight is not supported")
    return _MseLoss.apply(input, target, reduction=reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error between ``input`` and ``target``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _pair(input, target, "l1_loss")
    if weight is not None:
        raise NotImplementedError("l1_loss(): weight is not supported")
    op = {"mean": _L1Loss, "sum": _L1LossSum, "none": _L1LossNone}[reduction]
    return op.apply(input, target, reduction=reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",
                   beta=1.0):
    """Huber-like loss: quadratic below ``beta``, linear above."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, got "
                           f"{beta}")
    if beta == 0.0:  # exactly L1 (and PyTorch names its grad_fn so)
        return l1_loss(input, target, reduction=reduction)
    _pair(input, target, "smooth_l1_loss")
    return _SmoothL1Loss.apply(input, target, reduction=reduction, beta=float(beta))


# ---------------------------------------------------------------- binary cross-entropy

class _BinaryCrossEntropy(Op, backward_name="BinaryCrossEntropyBackward0"):
    """-w * (y log x + (1 - y) log(1 - x)), the logs clamped at -100 like PyTorch."""

    once_differentiable = True

    def forward(self, x, y, w, reduction):
        self.reduction = reduction
        self.save_inputs(0, 1, 2)
        x64 = x.astype(np.float64)
        with np.errstate(divide="ignore"):
            lx = np.maximum(np.log(x64), -100.0)
            l1x = np.maximum(np.log1p(-x64), -100.0)
        per = -(y * lx + (1 - y) * l1x)
        if w is not None:
            per = per * w
        return _reduce(per, reduction, x.dtype)

    def backward(self, g):
        x, y, w = self.saved_tensors
        xa, ya = x._array.astype(np.float64), y._array
        wa = 1.0 if w is None else w._array
        gs = _scale_grad(g, self.reduction, xa.shape, np.float64)
        need_x, need_y, _ = self.needs_input_grad
        gx = gy = None
        if need_x:
            eps = 1e-12  # PyTorch's guard against x*(1-x) == 0
            d = wa * (xa - ya) / np.maximum(xa * (1 - xa), eps) * gs
            gx = Tensor._wrap(d.astype(x._array.dtype))
        if need_y:
            with np.errstate(divide="ignore"):  # unclamped, as PyTorch
                d = -wa * (np.log(xa) - np.log1p(-xa))
            gy = Tensor._wrap((d * gs).astype(x._array.dtype))
        return gx, gy, None


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy between probabilities ``input`` and ``target`` (same shape)."""
    fn = "binary_cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_float(input, "input", fn)
    _check_tensor(target, "target", fn)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the "
                         f"input size ({input.shape}) is deprecated. Please ensure they have "
                         f"the same size.")
    if target._array.dtype != input._array.dtype:
        raise RuntimeError(f"{fn}(): target dtype {target.dtype} does not match input dtype "
                           f"{input.dtype}")
    xa = input._array
    if xa.size and not ((xa >= 0) & (xa <= 1)).all():
        raise RuntimeError(f"{fn}(): all elements of input should be between 0 and 1, got "
                           f"values in [{xa.min()}, {xa.max()}]")
    if weight is not None:
        _check_tensor(weight, "weight", fn)
        try:
            np.broadcast_to(weight._array, input.shape)
        except ValueError:
            raise RuntimeError(f"{fn}(): weight of shape {list(weight.shape)} cannot be "
                               f"broadcast to the input shape {list(input.shape)}") from None
    return _BinaryCrossEntropy.apply(input, target, weight, reduction=reduction)


class _BCEWithLogits(Op, backward_name="BinaryCrossEntropyWithLogitsBackward0"):
    once_differentiable = True

    def forward(self, x, y, w, pw, reduction):
        self.reduction = reduction
        self.save_inputs(0, 1, 2, 3)
        return K.bce_with_logits_forward(x, y, w, pw, reduction)

    def backward(self, g):
        x, y, w, pw = self.saved_tensors
        xa, ya = x._array, y._array
        wa = None if w is None else w._array
        pwa = None if pw is None else pw._array
        need_x, need_y, _, _ = self.needs_input_grad
        gx = gy = None
        if need_x:
            gx = Tensor._wrap(K.bce_with_logits_backward(_grad_array(g, np.float64), xa, ya,
                                                         wa, pwa, self.reduction))
        if need_y:
            # d/dy = -w * (pw * log sigmoid(x) - log(1 - sigmoid(x)))
            x64 = xa.astype(np.float64)
            log_sig = -np.logaddexp(0.0, -x64)
            log_1m = -np.logaddexp(0.0, x64)
            pwv = 1.0 if pwa is None else pwa
            wv = 1.0 if wa is None else wa
            d = -wv * (pwv * log_sig - log_1m)
            d = d * _scale_grad(g, self.reduction, xa.shape, np.float64)
            gy = Tensor._wrap(np.broadcast_to(d, xa.shape).astype(xa.dtype))
        return gx, gy, None, None


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Binary cross-entropy on logits (a stable sigmoid + BCE); ``weight`` and
    ``pos_weight`` broadcast against ``input``."""
    fn = "binary_cross_entropy_with_logits"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_float(input, "input", fn)
    _check_tensor(target, "target", fn)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    if target._array.dtype != input._array.dtype:
        raise RuntimeError(f"{fn}(): target dtype {target.dtype} does not match input dtype "
                           f"{input.dtype}")
    for t, name in ((weight, "weight"), (pos_weight, "pos_weight")):
        if t is not None:
            _check_tensor(t, name, fn)
            try:
                np.broadcast_to(t._array, input.shape)
            except ValueError:
                raise RuntimeError(f"{fn}(): {name} of shape {list(t.shape)} cannot be "
                                   f"broadcast to the input shape {list(input.shape)}") from None
            if t._array.dtype != input._array.dtype:
                raise RuntimeError(f"{fn}(): {name} dtype {t.dtype} does not match input "
                                   f"dtype {input.dtype}")
    return _BCEWithLogits.apply(input, target, weight, pos_weight, reduction=reduction)
