"""Loss ops: fused cross-entropy / NLL around ``kernels/loss.py``, the pointwise losses
(MSE, L1, smooth L1) and binary cross-entropy (on probabilities and on logits)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _wrap
from ..kernels import loss as K


def _grad_array(g, dtype):
    return np.asarray(g._array, dtype=dtype)


class CrossEntropy(Op, backward_name="NllLossBackward0"):
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
            gx = _wrap(gx)
        return gx, None

    def _release_extra(self):
        self.aux = self.target = self.params = None


# PyTorch's grad_fn name depends on the case (its cross_entropy is a composite):
class CrossEntropy2D(CrossEntropy, backward_name="NllLoss2DBackward0"):
    pass


class CrossEntropyView(CrossEntropy, backward_name="ViewBackward0"):
    pass


def nll_name(base, d2, view, input, reduction):
    """PyTorch runs N-d inputs through its 4-d kernel and views 'none' results back."""
    if input.ndim < 3:
        return base
    return view if input.ndim != 4 and reduction == "none" else d2


class CrossEntropySmoothed(CrossEntropy, backward_name="AddBackward0"):
    pass


class CrossEntropyProbMean(CrossEntropy, backward_name="DivBackward1"):
    pass


class CrossEntropyProb(CrossEntropy, backward_name="NegBackward0"):
    pass


class NllLoss(Op, backward_name="NllLossBackward0"):
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
            gx = _wrap(K.nll_loss_backward(_grad_array(g, np.float64), x._array, target,
                                                  weight, ignore_index, reduction, self.total))
        return gx, None

    def _release_extra(self):
        self.params = None


class NllLoss2D(NllLoss, backward_name="NllLoss2DBackward0"):
    pass


class NllLossView(NllLoss, backward_name="ViewBackward0"):
    pass


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


class Pointwise(Op):
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
        return (_wrap(d) if need_x else None), (_wrap(-d) if need_y else None)

    def _release_extra(self):
        self.kw = None


class MseLoss(Pointwise, backward_name="MseLossBackward0"):
    @staticmethod
    def value(x, y):
        d = x - y
        return d * d

    @staticmethod
    def deriv(x, y):
        return 2 * (x - y)


class L1Loss(Pointwise, backward_name="MeanBackward0"):
    @staticmethod
    def value(x, y):
        return np.abs(x - y)

    @staticmethod
    def deriv(x, y):
        return np.sign(x - y)


class L1LossSum(L1Loss, backward_name="SumBackward0"):
    pass


class L1LossNone(L1Loss, backward_name="AbsBackward0"):
    pass


class SmoothL1Loss(Pointwise, backward_name="SmoothL1LossBackward0"):
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


class BinaryCrossEntropy(Op, backward_name="BinaryCrossEntropyBackward0"):
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
            gx = _wrap(d.astype(x._array.dtype))
        if need_y:
            with np.errstate(divide="ignore"):  # unclamped, as PyTorch
                d = -wa * (np.log(xa) - np.log1p(-xa))
            gy = _wrap((d * gs).astype(x._array.dtype))
        return gx, gy, None


class BCEWithLogits(Op, backward_name="BinaryCrossEntropyWithLogitsBackward0"):
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
            gx = _wrap(K.bce_with_logits_backward(_grad_array(g, np.float64), xa, ya,
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
            gy = _wrap(np.broadcast_to(d, xa.shape).astype(xa.dtype))
        return gx, gy, None, None
