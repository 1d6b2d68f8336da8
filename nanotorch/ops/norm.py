"""Batch norm (batch or running statistics) and layer norm: one op each around
``kernels/norm.py``."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _wrap
from ..kernels import norm as K


def _wrap_opt(arr):
    return None if arr is None else _wrap(arr)


class BatchNormTrain(Op, backward_name="NativeBatchNormBackward0"):
    """Batch norm with batch statistics; backward goes through the statistics."""

    once_differentiable = True

    def forward(self, x, w, b, eps, stats):
        y, self.mean, self.invstd, var = K.batch_norm_train_forward(x, w, b, eps)
        stats.extend((self.mean, var))  # for the running-statistics update
        self.save_inputs(0, 1)
        return y

    def backward(self, g):
        x, w = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad
        gx, gw, gb = K.batch_norm_backward(
            np.ascontiguousarray(g._array, dtype=x._array.dtype), x._array, self.mean,
            self.invstd, None if w is None else w._array, need_x, need_w, need_b)
        return _wrap_opt(gx), _wrap_opt(gw), _wrap_opt(gb)

    def _release_extra(self):
        self.mean = self.invstd = None


class BatchNormEval(Op, backward_name="NativeBatchNormBackward0"):
    """Batch norm with fixed (running) statistics."""

    once_differentiable = True

    def forward(self, x, w, b, running_mean, running_var, eps):
        self.rm, self.rv, self.eps = running_mean.copy(), running_var.copy(), eps
        self.save_inputs(0, 1)
        return K.batch_norm_eval_forward(x, running_mean, running_var, w, b, eps)

    def backward(self, g):
        x, w = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad
        gx, gw, gb = K.batch_norm_eval_backward(
            np.ascontiguousarray(g._array, dtype=x._array.dtype), x._array, self.rm, self.rv,
            None if w is None else w._array, self.eps, need_x, need_w, need_b)
        return _wrap_opt(gx), _wrap_opt(gw), _wrap_opt(gb)

    def _release_extra(self):
        self.rm = self.rv = None


class LayerNorm(Op, backward_name="NativeLayerNormBackward0"):
    once_differentiable = True

    def forward(self, x, w, b, ndim, eps):
        y, self.mean, self.invstd = K.layer_norm_forward(x, ndim, w, b, eps)
        self.ndim = ndim
        self.save_inputs(0, 1)
        return y

    def backward(self, g):
        x, w = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad
        gx, gw, gb = K.layer_norm_backward(
            np.ascontiguousarray(g._array, dtype=x._array.dtype), x._array, self.mean,
            self.invstd, None if w is None else w._array, self.ndim, need_x, need_w, need_b)
        return _wrap_opt(gx), _wrap_opt(gw), _wrap_opt(gb)

    def _release_extra(self):
        self.mean = self.invstd = None
