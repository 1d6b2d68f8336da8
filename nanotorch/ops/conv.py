"""Convolutions over the im2col / depthwise kernels in ``kernels/conv.py``: conv (2-D, and
1-D as a unit-height 2-D), transposed conv (its adjoint: GEMM + col2im), and the im2col /
col2im pair itself (unfold / fold)."""
from __future__ import annotations

from ..autograd.function import Op, _wrap
from ..kernels.conv import (
    conv2d_backward,
    conv2d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
    fold_forward,
    unfold_forward,
)


def _as_2d(a):
    """A 3-D (N, C, L) array as (N, C, 1, L); 4-D unchanged."""
    return a if a is None or a.ndim == 4 else a[:, :, None, :]


def _like(grad, t):
    """``grad`` (an array or None) reshaped to tensor ``t``'s shape, as a Tensor."""
    return None if grad is None else _wrap(grad.reshape(t._array.shape))


class Conv2d(Op, backward_name="ConvolutionBackward0"):
    """Convolution of x (N, C, H, W) or, on a unit height, (N, C, L)."""

    once_differentiable = True

    def forward(self, x, w, b, stride, padding, dilation, groups):
        self.save_inputs(0, 1)
        self.args = (stride, padding, dilation, groups)
        y = conv2d_forward(_as_2d(x), _as_2d(w), b, stride, padding, dilation, groups)
        return y if x.ndim == 4 else y[:, :, 0, :]

    def backward(self, g):
        x, w = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad
        gx, gw, gb = conv2d_backward(_as_2d(x._array), _as_2d(w._array), _as_2d(g._array),
                                     *self.args, need_input=need_x, need_weight=need_w,
                                     need_bias=need_b)
        return _like(gx, x), _like(gw, w), None if gb is None else _wrap(gb)


class ConvTranspose2d(Op, backward_name="ConvolutionBackward0"):
    """Transposed convolution of x (N, Cin, H, W) or (N, Cin, L) with w (Cin, Cout/groups,
    kh, kw) or (Cin, Cout/groups, k)."""

    once_differentiable = True

    def forward(self, x, w, b, stride, padding, output_padding, dilation, groups):
        self.save_inputs(0, 1)
        self.args = (stride, padding, dilation, groups)
        y = conv_transpose2d_forward(_as_2d(x), _as_2d(w), b, stride, padding, output_padding,
                                     dilation, groups)
        return y if x.ndim == 4 else y[:, :, 0, :]

    def backward(self, g):
        x, w = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad
        gx, gw, gb = conv_transpose2d_backward(
            _as_2d(x._array), _as_2d(w._array), _as_2d(g._array), *self.args,
            need_input=need_x, need_weight=need_w, need_bias=need_b)
        return _like(gx, x), _like(gw, w), None if gb is None else _wrap(gb)


class Unfold(Op, backward_name="Im2ColBackward0"):
    """Sliding windows of x (N, C, H, W) as columns (N, C*kh*kw, L)."""

    once_differentiable = True

    def forward(self, x, kernel_size, dilation, padding, stride):
        self.args = (kernel_size, dilation, padding, stride)
        self.input_hw = x.shape[2:]
        return unfold_forward(x, *self.args)

    def backward(self, g):
        return _wrap(fold_forward(g._array, self.input_hw, *self.args))


class Fold(Op, backward_name="Col2ImBackward0"):
    """Columns (N, C*kh*kw, L) summed back into (N, C, *output_size)."""

    once_differentiable = True

    def forward(self, cols, output_size, kernel_size, dilation, padding, stride):
        self.args = (kernel_size, dilation, padding, stride)
        return fold_forward(cols, output_size, *self.args)

    def backward(self, g):
        return _wrap(unfold_forward(g._array, *self.args))
