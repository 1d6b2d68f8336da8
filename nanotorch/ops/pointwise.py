"""More elementwise math: hyperbolic and inverse trigonometric functions, ``tan``,
``erfinv``, ``frac``, ``atan2`` and ``nan_to_num``."""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Op
from .activation import _erf_ufunc
from .registry import float_unary


def _np_unary(fn):
    def forward(self, a):
        self.save_inputs(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return fn(a)
    return forward


@float_unary("sinh")
class Sinh(Op):
    forward = _np_unary(np.sinh)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g * x.cosh()


@float_unary("cosh")
class Cosh(Op):
    forward = _np_unary(np.cosh)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g * x.sinh()


@float_unary("tan")
class Tan(Op):
    def forward(self, a):
        self.save_output()
        return np.tan(a)

    def backward(self, g):
        (out,) = self.saved_tensors
        return g * (out * out + 1.0)


@float_unary("asin")
class Asin(Op):
    forward = _np_unary(np.arcsin)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g * (1.0 - x * x).rsqrt()


@float_unary("acos")
class Acos(Op):
    forward = _np_unary(np.arccos)

    def backward(self, g):
        (x,) = self.saved_tensors
        return -g * (1.0 - x * x).rsqrt()


@float_unary("atan")
class Atan(Op):
    forward = _np_unary(np.arctan)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g / (x * x + 1.0)


@float_unary("asinh")
class Asinh(Op):
    forward = _np_unary(np.arcsinh)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g * (x * x + 1.0).rsqrt()


@float_unary("acosh")
class Acosh(Op):
    forward = _np_unary(np.arccosh)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g * (x * x - 1.0).rsqrt()


@float_unary("atanh")
class Atanh(Op):
    forward = _np_unary(np.arctanh)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g / (1.0 - x * x)


# Giles' polynomial first guesses of erfinv (central |w| < 5 and tail), then Newton steps.
_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                   0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def erfinv_array(y):
    """Inverse error function, computed in float64 and returned in ``y``'s dtype."""
    y64 = np.asarray(y, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = -np.log((1.0 - y64) * (1.0 + y64))
        central = np.polyval(_ERFINV_CENTRAL, w - 2.5)
        tail = np.polyval(_ERFINV_TAIL, np.sqrt(w) - 3.0)
        x = np.where(w < 5.0, central, tail) * y64
        for _ in range(2):  # Newton on erf(x) = y; erf'(x) = 2/sqrt(pi) exp(-x^2)
            err = _erf_ufunc(x).astype(np.float64) - y64
            x = x - err / (1.1283791670955126 * np.exp(-x * x))
    x = np.where(y64 == 1, np.inf, np.where(y64 == -1, -np.inf, x))
    return np.where(np.abs(y64) > 1, np.nan, x).astype(y.dtype)


@float_unary("erfinv")
class Erfinv(Op):
    def forward(self, a):
        self.save_output()
        return erfinv_array(a)

    def backward(self, g):
        (out,) = self.saved_tensors
        return g * (out * out).exp() * (math.sqrt(math.pi) / 2.0)


@float_unary("frac")
class Frac(Op):
    def forward(self, a):
        return a - np.trunc(a)

    def backward(self, g):
        return g


class Atan2(Op):
    def forward(self, a, b, dtype):
        self.save_inputs(0, 1)
        return np.arctan2(a, b, dtype=dtype)

    def backward(self, g):
        a, b = self.saved_tensors
        r2 = a * a + b * b
        need_a, need_b = self.needs_input_grad
        return (g * b / r2 if need_a else None), (-g * a / r2 if need_b else None)


class NanToNum(Op):
    def forward(self, a, nan, posinf, neginf):
        self.save_inputs(0)
        return np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        (x,) = self.saved_tensors
        return g * x.isfinite()


class Sgn(Op):
    def forward(self, a):
        return np.nan_to_num(np.sign(a), nan=0.0)

    def backward(self, g):
        return g * 0.0
