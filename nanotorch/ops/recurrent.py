"""The gate arithmetic of one LSTM or GRU time step as single ops (one graph node per step
instead of about fifteen). Forward and first-order backward run on arrays; under
``create_graph`` the backward is written with tensor ops, so it is differentiable again."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled


def _sigmoid(x):
    # 0.5 * (1 + tanh(x / 2)) never overflows, unlike 1 / (1 + exp(-x))
    out = np.multiply(x, 0.5, dtype=x.dtype)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


def _lstm_gates(pre):
    """PyTorch's gate order i, f, g, o along the last dim of ``pre``."""
    i, f, g, o = np.split(pre, 4, axis=-1)
    return _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)


class LSTMGates(Op):
    """``[h', c']`` (concatenated on the last dim) from the input's gates ``gx``, the hidden
    state's gates ``gh`` and the cell state ``c``:
    ``c' = sigmoid(f) * c + sigmoid(i) * tanh(g)``, ``h' = sigmoid(o) * tanh(c')``."""

    def forward(self, gx, gh, c):
        self.save_inputs(0, 1, 2)
        pre = gx + gh
        i, f, g, o = _lstm_gates(pre)
        c_new = f * c
        c_new += i * g
        tc = np.tanh(c_new)
        self.cache = (i, f, g, o, tc)
        return np.concatenate([o * tc, c_new], axis=-1)

    def backward(self, grad):
        gx, gh, c = self.saved_tensors
        if is_grad_enabled():
            return self._tensor_backward(grad, gx + gh, c)
        i, f, g, o, tc = self.cache
        ga = grad._array
        hidden = c.shape[-1]
        g_h, g_c = ga[..., :hidden], ga[..., hidden:]
        d_c = g_c + g_h * o * (1 - tc * tc)
        d_pre = np.concatenate([d_c * g * i * (1 - i), d_c * c._array * f * (1 - f),
                                d_c * i * (1 - g * g), g_h * tc * o * (1 - o)], axis=-1)
        d_pre = type(grad)._wrap(d_pre)
        return d_pre, d_pre, type(grad)._wrap(d_c * f)

    @staticmethod
    def _tensor_backward(grad, pre, c):
        i, f, g, o = pre.chunk(4, -1)
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
        tc = (f * c + i * g).tanh()
        g_h, g_c = grad.chunk(2, -1)
        d_c = g_c + g_h * o * (1 - tc * tc)
        from ..functions import cat
        d_pre = cat([d_c * g * i * (1 - i), d_c * c * f * (1 - f), d_c * i * (1 - g * g),
                     g_h * tc * o * (1 - o)], -1)
        return d_pre, d_pre, d_c * f

    def _release_extra(self):
        self.cache = None


class GRUGates(Op):
    """``h'`` from the input's gates ``gx`` (r, z, n; with ``b_ih``), the hidden state's gates
    ``gh`` (with ``b_hh``) and ``h``: ``r = sigmoid(gx_r + gh_r)``, ``z = sigmoid(gx_z + gh_z)``,
    ``n = tanh(gx_n + r * gh_n)``, ``h' = (1 - z) * n + z * h``."""

    def forward(self, gx, gh, h):
        self.save_inputs(0, 1, 2)
        xr, xz, xn = np.split(gx, 3, axis=-1)
        hr, hz, hn = np.split(gh, 3, axis=-1)
        r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
        n = np.tanh(xn + r * hn)
        self.cache = (r, z, n, hn)
        return n + z * (h - n)

    def backward(self, grad):
        gx, gh, h = self.saved_tensors
        if is_grad_enabled():
            return self._tensor_backward(grad, gx, gh, h)
        r, z, n, hn = self.cache
        ga = grad._array
        d_n = ga * (1 - z) * (1 - n * n)
        d_z = ga * (h._array - n) * z * (1 - z)
        d_r = d_n * hn * r * (1 - r)
        wrap = type(grad)._wrap
        return (wrap(np.concatenate([d_r, d_z, d_n], axis=-1)),
                wrap(np.concatenate([d_r, d_z, d_n * r], axis=-1)), wrap(ga * z))

    @staticmethod
    def _tensor_backward(grad, gx, gh, h):
        from ..functions import cat
        xr, xz, xn = gx.chunk(3, -1)
        hr, hz, hn = gh.chunk(3, -1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        n = (xn + r * hn).tanh()
        d_n = grad * (1 - z) * (1 - n * n)
        d_z = grad * (h - n) * z * (1 - z)
        d_r = d_n * hn * r * (1 - r)
        return cat([d_r, d_z, d_n], -1), cat([d_r, d_z, d_n * r], -1), grad * z

    def _release_extra(self):
        self.cache = None
