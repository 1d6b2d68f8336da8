"""Elementwise ops: arithmetic, unary math, clamp, where / masked fill, fills and copies, with
broadcasting (the activations are in ``activation.py``).

Backward formulas may return un-reduced (broadcast) gradients: the engine sums them
to each input's shape."""
from __future__ import annotations

import numpy as np

from .. import _bfloat16
from ..autograd.function import Op
from .registry import float_unary


class _Binary(Op):
    """Forward receives both arrays and ``dtype``, the promoted NumPy result type."""


class Add(_Binary):
    def forward(self, a, b, dtype, alpha=1, out=None):
        self.alpha = alpha
        if alpha != 1:
            b = np.multiply(b, alpha, dtype=dtype)
        return np.add(a, b, dtype=dtype, out=out)

    def backward(self, g):
        return g, (g * self.alpha if self.alpha != 1 else g)


class Sub(_Binary):
    def forward(self, a, b, dtype, alpha=1, out=None):
        self.alpha = alpha
        if alpha != 1:
            b = np.multiply(b, alpha, dtype=dtype)
        return np.subtract(a, b, dtype=dtype, out=out)

    def backward(self, g):
        return g, (-g * self.alpha if self.alpha != 1 else -g)


class Rsub(Sub, backward_name="RsubBackward1"):
    """number - tensor."""


class Mul(_Binary):
    def forward(self, a, b, dtype):
        self.save_inputs(0, 1)
        return np.multiply(a, b, dtype=dtype)

    def backward(self, g):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(_Binary):
    def forward(self, a, b, dtype):
        self.save_inputs(0, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.true_divide(a, b, dtype=dtype)

    def backward(self, g):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        ga = g / b if need_a else None
        gb = -g * a / (b * b) if need_b else None
        return ga, gb


class Pow(_Binary, backward_name="PowBackward1"):
    """tensor ** tensor (and scalar ** tensor)."""

    def forward(self, a, b, dtype):
        self.save_inputs(0, 1)
        self.save_output()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.power(a, b, dtype=dtype)

    def backward(self, g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._grads(g)

    def _grads(self, g):
        a, b, out = self.saved_tensors
        if a.dtype is not out.dtype:  # an int base: take its log in the result's precision
            a = a.to(out.dtype)
        need_a, need_b = self.needs_input_grad
        ga = gb = None
        # g has the full broadcast shape, so each product can be masked in place of NaNs
        if need_a:
            ga = g * b * a ** (b - 1)
            if bool((b == 0).any()):  # d/da a**0 = 0, also at a == 0
                ga = ga.masked_fill(b == 0, 0.0)
        if need_b:
            gb = g * out * a.log()
            zero_base = (a == 0) & (b >= 0)
            if bool(zero_base.any()):  # d/db 0**b taken as 0 there
                gb = gb.masked_fill(zero_base, 0.0)
        return ga, gb


class RPow(Pow, backward_name="PowBackward2"):
    """number ** tensor."""


class PowScalar(Op, backward_name="PowBackward0"):
    """tensor ** number."""

    def forward(self, a, exponent, dtype):
        self.save_inputs(0)
        self.exponent = exponent
        if exponent == 2:
            return np.multiply(a, a, dtype=dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            if exponent == 0.5:
                return np.sqrt(a, dtype=dtype)
            return np.power(a, np.asarray(exponent, dtype=dtype), dtype=dtype)

    def backward(self, g):
        (a,) = self.saved_tensors
        e = self.exponent
        if e == 0:
            return g * 0.0
        if e == 1:
            return g
        if e == 2:
            return g * (a * 2.0)
        return g * (a ** (e - 1) * float(e))


class Neg(Op):
    def forward(self, a):
        return np.negative(a)

    def backward(self, g):
        return -g


class Abs(Op):
    def forward(self, a):
        self.save_inputs(0)
        return np.abs(a)

    def backward(self, g):
        (a,) = self.saved_tensors
        return g * a.sign()


@float_unary("exp")
class Exp(Op):
    def forward(self, a):
        self.save_output()
        return np.exp(a)

    def backward(self, g):
        (out,) = self.saved_tensors
        return g * out


@float_unary("log")
class Log(Op):
    def forward(self, a):
        self.save_inputs(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a)

    def backward(self, g):
        (a,) = self.saved_tensors
        return g / a


@float_unary("log1p")
class Log1p(Op, backward_name="Log1PBackward0"):
    def forward(self, a):
        self.save_inputs(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(a)

    def backward(self, g):
        (a,) = self.saved_tensors
        return g / (a + 1.0)


@float_unary("sqrt")
class Sqrt(Op):
    def forward(self, a):
        self.save_output()
        with np.errstate(invalid="ignore"):
            return np.sqrt(a)

    def backward(self, g):
        (out,) = self.saved_tensors
        return g / (out * 2.0)


@float_unary("rsqrt")
class Rsqrt(Op):
    def forward(self, a):
        self.save_output()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.reciprocal(np.sqrt(a))

    def backward(self, g):
        (out,) = self.saved_tensors
        return g * (out * out * out) * -0.5


@float_unary("reciprocal")
class Reciprocal(Op):
    def forward(self, a):
        self.save_output()
        with np.errstate(divide="ignore"):
            return np.reciprocal(a)

    def backward(self, g):
        (out,) = self.saved_tensors
        return -g * out * out


@float_unary("sin")
class Sin(Op):
    def forward(self, a):
        self.save_inputs(0)
        return np.sin(a)

    def backward(self, g):
        (a,) = self.saved_tensors
        return g * a.cos()


@float_unary("cos")
class Cos(Op):
    def forward(self, a):
        self.save_inputs(0)
        return np.cos(a)

    def backward(self, g):
        (a,) = self.saved_tensors
        return -g * a.sin()


class Clamp(Op, backward_name="ClampBackward1"):
    def forward(self, a, min=None, max=None):
        self.save_inputs(0)
        self.bounds = (min, max)
        return np.clip(a, min, max).astype(a.dtype, copy=False)

    def backward(self, g):
        (a,) = self.saved_tensors
        lo, hi = self.bounds
        mask = None
        if lo is not None:
            mask = a >= lo
        if hi is not None:
            mask = (a <= hi) if mask is None else mask & (a <= hi)
        return g if mask is None else g * mask


class ClampMin(Clamp, backward_name="ClampMinBackward0"):
    pass


class ClampMax(Clamp, backward_name="ClampMaxBackward0"):
    pass


class ClampTensor(Op, backward_name="ClampBackward0"):
    """clamp with tensor bounds (either may be None)."""

    def forward(self, a, lo, hi, dtype):
        self.save_inputs(0, 1, 2)
        out = a.astype(dtype, copy=False)
        if lo is not None:
            out = np.maximum(out, lo, dtype=dtype)
        if hi is not None:
            out = np.minimum(out, hi, dtype=dtype)
        return out

    def backward(self, g):
        a, lo, hi = self.saved_tensors
        need_a, need_lo, need_hi = self.needs_input_grad
        above = (a >= lo) if lo is not None else None
        below = (a <= hi) if hi is not None else None
        ga = glo = ghi = None
        if need_a:
            mask = above if below is None else (below if above is None else above & below)
            ga = g * mask
        # with crossed bounds (lo > hi) the output is hi everywhere: hi gets the gradient
        if need_lo:
            glo = g * (~above if hi is None else (~above & (lo < hi)))
        if need_hi:
            ghi = g * (~below if lo is None else (~below | (hi < lo)))
        return ga, glo, ghi


class Maximum(_Binary):
    def forward(self, a, b, dtype):
        self.save_inputs(0, 1)
        return np.maximum(a, b, dtype=dtype)

    def backward(self, g):
        a, b = self.saved_tensors
        half = (a == b) * 0.5
        return g * ((a > b) + half), g * ((a < b) + half)


class Minimum(_Binary):
    def forward(self, a, b, dtype):
        self.save_inputs(0, 1)
        return np.minimum(a, b, dtype=dtype)

    def backward(self, g):
        a, b = self.saved_tensors
        half = (a == b) * 0.5
        return g * ((a < b) + half), g * ((a > b) + half)


class Where(Op):
    def forward(self, cond, a, b, dtype):
        self.cond = cond
        return np.where(cond, a, b).astype(dtype, copy=False)

    def backward(self, g):
        from ..tensor import Tensor
        cond = Tensor._wrap(self.cond)
        need_c, need_a, need_b = self.needs_input_grad
        zero = g.new_zeros(())
        ga = g.where(cond, zero) if need_a else None
        gb = zero.where(cond, g) if need_b else None
        return None, ga, gb


class MaskedFill(Op):
    def forward(self, a, mask, value_t, value=0.0):
        self.mask = mask
        out = a.copy()
        if value_t is not None:
            value = value_t
        np.copyto(out, np.asarray(value, dtype=a.dtype), where=np.broadcast_to(mask, a.shape))
        return out

    def backward(self, g):
        from ..tensor import Tensor
        mask = Tensor._wrap(self.mask)
        need_a, _, need_v = self.needs_input_grad
        ga = g.masked_fill(mask, 0.0) if need_a else None
        gv = g.where(mask, g.new_zeros(())).sum() if need_v else None
        return ga, None, gv


class MaskedFillTensor(MaskedFill, backward_name="MaskedFillBackward1"):
    """masked_fill with a 0-dim tensor value (which gets the masked gradient sum)."""


class Fill(Op, backward_name="FillBackward2"):
    """``fill_(number)`` out of place: the old values get a zero gradient."""

    def forward(self, a, value):
        return np.full(a.shape, value).astype(a.dtype, copy=False)

    def backward(self, g):
        return g.new_zeros(g.shape)


class Zero(Fill, backward_name="ZeroBackward0"):
    pass


class FillTensor(Op, backward_name="FillBackward3"):
    """``fill_(0-dim tensor)``: the value gets the summed gradient."""

    def forward(self, a, v):
        return np.full(a.shape, v, dtype=a.dtype)

    def backward(self, g):
        need_a, need_v = self.needs_input_grad
        return (g.new_zeros(g.shape) if need_a else None), (g.sum() if need_v else None)


class Copy(Op, backward_name="CopyBackwards"):
    """``copy_(src)`` out of place: ``src`` broadcast and cast to ``a``'s shape and dtype."""

    def forward(self, a, src):
        return np.broadcast_to(src, a.shape).astype(a.dtype)

    def backward(self, g):
        need_a, need_src = self.needs_input_grad
        return (g.new_zeros(g.shape) if need_a else None), (g if need_src else None)


class ToCopy(Op):
    """dtype conversion; the gradient is converted back to the input's dtype."""

    def forward(self, a, dtype):
        return _bfloat16.cast(a, dtype)

    def backward(self, g):
        return g


class Clone(Op):
    def forward(self, a):
        return np.array(a, copy=True, order="C")

    def backward(self, g):
        return g


class Alias(Op, backward_name="AliasBackward0"):
    """A new graph node sharing the input's data (view_as, identity returns)."""

    def forward(self, a):
        return a.view()

    def backward(self, g):
        return g
