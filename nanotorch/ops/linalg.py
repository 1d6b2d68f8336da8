"""Matrix products and ``F.linear`` (all through BLAS)."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op, _wrap
from ..autograd.grad_mode import is_grad_enabled
from ..kernels import gemm


def matmul_shape_error(a_shape, b_shape):
    return RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                        f"({'x'.join(map(str, a_shape))} and {'x'.join(map(str, b_shape))})")


class MatMul(Op, backward_name="UnsafeViewBackward0"):
    """``np.matmul`` semantics: 1-D operands, 2-D, batched with broadcast batch dims.
    The subclasses only carry PyTorch's node name for each case."""

    def forward(self, a, b):
        self.save_inputs(0, 1)
        return gemm.matmul(a, b)

    def backward(self, g):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if need_a else None), (g * a if need_b else None)
        # Give 1-D operands (and the output) their unit dims back; broadcast batch dims
        # of the results are summed away by the engine.
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        if b.ndim == 1:
            g = g.unsqueeze(-1)
        if a.ndim == 1:
            g = g.unsqueeze(-2)
        ga = gb = None
        if need_a:
            ga = g.matmul(b2.mT)
            if a.ndim == 1:
                ga = ga.squeeze(-2)
        if need_b:
            gb = a2.mT.matmul(g)
            if b.ndim == 1:
                gb = gb.squeeze(-1)
        return ga, gb


class Dot(MatMul, backward_name="DotBackward0"):
    pass


class Mv(MatMul, backward_name="MvBackward0"):
    pass


class Mm(MatMul, backward_name="MmBackward0"):
    pass


class Bmm(MatMul, backward_name="BmmBackward0"):
    pass


class VecMat(MatMul, backward_name="SqueezeBackward4"):
    """1-D @ 2-D."""


def matmul_op(a_ndim: int, b_ndim: int):
    """The op class whose name PyTorch gives ``a @ b`` for these operand ranks."""
    if a_ndim == 1:
        return Dot if b_ndim == 1 else (VecMat if b_ndim == 2 else MatMul)
    if a_ndim == 2 and b_ndim <= 2:
        return Mv if b_ndim == 1 else Mm
    return MatMul


def _rows(shape):
    """Rows of the 2-D view of a ``(*, features)`` array (``-1`` fails with 0 features)."""
    return int(np.prod(shape[:-1], dtype=np.int64))


class Linear(Op, backward_name="AddmmBackward0"):
    """``x @ w.T + b`` for ``x`` of shape ``(*, in)``; ``b`` may be None. The subclasses
    only change the grad_fn name (PyTorch's depends on the input rank and on the bias)."""

    def forward(self, x, w, b):
        n_in = w.shape[1]
        x2 = x.reshape(_rows(x.shape), n_in)
        out = np.empty((x2.shape[0], w.shape[0]), dtype=w.dtype)
        gemm.matmul(x2, w.T, out=out)
        if b is not None:
            out += b
        self.save_inputs(0, 1)
        return out.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, g):
        x, w = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad
        n_out, n_in = w.shape
        gx = gw = gb = None
        if is_grad_enabled():  # create_graph: differentiable formulas
            g2 = g.reshape(_rows(g.shape), n_out)
            if need_x:
                gx = g.matmul(w)
            if need_w:
                gw = g2.t().matmul(x.reshape(_rows(x.shape), n_in))
            if need_b:
                gb = g2.sum(0)
            return gx, gw, gb
        g2 = g._array.reshape(_rows(g.shape), n_out)
        if need_x:
            gx = _wrap(gemm.matmul(g2, w._array).reshape(x.shape))
        if need_w:
            gw = _wrap(gemm.matmul(g2.T, x._array.reshape(_rows(x.shape), n_in)))
        if need_b:
            gb = _wrap(g2.sum(0))
        return gx, gw, gb


class LinearMm(Linear, backward_name="MmBackward0"):
    pass


class LinearND(Linear, backward_name="ViewBackward0"):
    pass


class LinearNDNoBias(Linear, backward_name="UnsafeViewBackward0"):
    pass


class Linear1DNoBias(Linear, backward_name="SqueezeBackward4"):
    pass



# Norms and decompositions ------------------------------------------------------------------
def _abs_pow_sum(a, ord, axes, keepdim):
    """sum(|a|**ord) over ``axes`` (ord a finite number other than 0, 1 and 2)."""
    return np.sum(np.abs(a) ** ord, axis=axes, keepdims=keepdim)


class VectorNorm(Op, backward_name="LinalgVectorNormBackward0"):
    """``(sum |x|**ord)**(1/ord)`` over ``axes``; ord may be inf, -inf or 0."""

    def forward(self, a, ord, axes, keepdim):
        self.ord, self.axes, self.keepdim = ord, axes, keepdim
        self.save_inputs(0)
        self.save_output()
        absa = np.abs(a)
        if ord == np.inf:
            out = np.max(absa, axis=axes, keepdims=keepdim, initial=0)
        elif ord == -np.inf:
            out = np.min(absa, axis=axes, keepdims=keepdim)
        elif ord == 0:
            out = np.sum(a != 0, axis=axes, keepdims=keepdim).astype(a.dtype)
        elif ord == 1:
            out = np.sum(absa, axis=axes, keepdims=keepdim)
        elif ord == 2:
            out = np.sqrt(np.sum(absa * absa, axis=axes, keepdims=keepdim))
        else:
            with np.errstate(divide="ignore", over="ignore"):
                out = _abs_pow_sum(a, ord, axes, keepdim) ** (1.0 / ord)
        return np.asarray(out, dtype=a.dtype)

    def backward(self, g):
        x, norm = self.saved_tensors
        ord = self.ord
        if not self.keepdim:
            shape = [1 if i in self.axes else s for i, s in enumerate(x.shape)]
            g, norm = g.reshape(shape), norm.reshape(shape)
        if ord == 0:
            return None  # PyTorch gives the input no gradient (the count is flat)
        if ord == 1:
            return g * x.sign()
        if ord in (np.inf, -np.inf):  # split evenly between the elements that attain it
            hit = (x.abs() == norm).to(x.dtype)
            return g * x.sign() * hit / hit.sum(self.axes, keepdim=True)
        zero = norm == 0
        safe = norm.masked_fill(zero, 1.0)
        if ord == 2:
            return (g * x / safe).masked_fill(zero, 0.0)
        scale = x.abs() ** (ord - 2) * x / safe ** (ord - 1)
        return (g * scale).masked_fill(zero, 0.0)


class Svdvals(Op, backward_name="LinalgSvdBackward0"):
    """Singular values (descending) of the last two dims; gradient ``U diag(g) Vh``."""

    def forward(self, a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        self.u, self.vh = u, vh
        return s.astype(a.dtype, copy=False)

    def backward(self, g):
        return (_wrap(self.u) * g.unsqueeze(-2)).matmul(_wrap(self.vh))


class Inverse(Op, backward_name="LinalgInvExBackward0"):
    def forward(self, a):
        self.save_output()
        try:
            return np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise RuntimeError("linalg.inv: The diagonal element 1 is zero, the inversion "
                               "could not be completed because the input matrix is "
                               "singular.") from None

    def backward(self, g):
        (inv,) = self.saved_tensors
        inv_t = inv.mT
        return -inv_t.matmul(g).matmul(inv_t)


class Det(Op, backward_name="LinalgDetBackward0"):
    def forward(self, a):
        self.save_inputs(0)
        self.save_output()
        return np.asarray(np.linalg.det(a), dtype=a.dtype)

    def backward(self, g):
        a, det = self.saved_tensors
        return (g * det).unsqueeze(-1).unsqueeze(-1) * Inverse.apply(a).mT


class Solve(Op, backward_name="LinalgSolveExBackward0"):
    """``X = A^-1 B`` for matrices ``B`` (callers make a vector right side a column)."""

    def forward(self, a, b):
        self.save_inputs(0)
        try:
            out = np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise RuntimeError("torch.linalg.solve: The solver failed because the input matrix "
                               "is singular.") from None
        self.save_output()
        return out

    def backward(self, g):
        a, x = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        gb = Solve.apply(a.mT, g)
        ga = -gb.matmul(x.mT) if need_a else None
        return ga, (gb if need_b else None)


class Cholesky(Op, backward_name="LinalgCholeskyExBackward0"):
    """Lower factor ``L`` with ``A = L L^T`` (``upper`` is handled by the caller)."""

    def forward(self, a):
        try:
            out = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise RuntimeError("linalg.cholesky: The factorization could not be completed "
                               "because the input is not positive-definite.") from None
        self.save_output()
        return out

    def backward(self, g):
        (lower,) = self.saved_tensors
        # phi(L^T gL): lower triangle with half the diagonal; gA = sym(L^-T phi L^-1)
        p = lower.mT.matmul(g.tril())
        p = p.tril() - 0.5 * p * _wrap(np.eye(p.shape[-1], dtype=p._array.dtype))
        inv = Inverse.apply(lower)
        s = inv.mT.matmul(p).matmul(inv)
        return 0.5 * (s + s.mT)
