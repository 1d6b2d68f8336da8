"""Batch norm (batch or running statistics) and layer norm: one op each around
``kernels/norm.py``."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _wrap
from ..kernels import norm as K


class _Norm(Op):
    """Shared backward: the kernel's ``grads(g, x, w, need_x, need_w, need_b)`` gets the
    gradient contiguous in x's dtype and the weight array (or None)."""

    once_differentiable = True

    def backward(self, g):
        x, w = self.saved_tensors
        grads = self.grads(np.ascontiguousarray(g._array, dtype=x._array.dtype), x._array,
                           None if w is None else w._array, *self.needs_input_grad)
        return tuple(None if a is None else _wrap(a) for a in grads)


class BatchNormTrain(_Norm, backward_name="NativeBatchNormBackward0"):
    """Batch norm with batch statistics; backward goes through the statistics."""

    def forward(self, x, w, b, eps, stats):
        y, self.mean, self.invstd, var = K.batch_norm_train_forward(x, w, b, eps)
        stats.extend((self.mean, var))  # for the running-statistics update
        self.save_inputs(0, 1)
        return y

    def grads(self, g, x, w, *need):
        return K.batch_norm_backward(g, x, self.mean, self.invstd, w, *need)

    def _release_extra(self):
        self.mean = self.invstd = None


class BatchNormEval(_Norm, backward_name="NativeBatchNormBackward0"):
    """Batch norm with fixed (running) statistics."""

    def forward(self, x, w, b, running_mean, running_var, eps):
        self.rm, self.rv, self.eps = running_mean.copy(), running_var.copy(), eps
        self.save_inputs(0, 1)
        return K.batch_norm_eval_forward(x, running_mean, running_var, w, b, eps)

    def grads(self, g, x, w, *need):
        return K.batch_norm_eval_backward(g, x, self.rm, self.rv, w, self.eps, *need)

    def _release_extra(self):
        self.rm = self.rv = None


class LayerNorm(_Norm, backward_name="NativeLayerNormBackward0"):
    def forward(self, x, w, b, ndim, eps):
        y, self.mean, self.invstd = K.layer_norm_forward(x, ndim, w, b, eps)
        self.ndim = ndim
        self.save_inputs(0, 1)
        return y

    def grads(self, g, x, w, *need):
        return K.layer_norm_backward(g, x, self.mean, self.invstd, w, self.ndim, *need)

    def _release_extra(self):
        self.mean = self.invstd = None
