"""``nanotorch.linalg``: norms (vector, matrix), ``inv``, ``det``, ``solve``, ``cholesky``
(all with gradients), ``svdvals`` (with gradient) and ``svd``, ``qr``, ``eigh`` (through
NumPy/LAPACK; no gradient: they raise if asked to record one)."""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from . import _dtype
from .autograd.grad_mode import is_grad_enabled
from .ops import linalg as L
from .ops.reduction import normalize_dims
from .tensor import Tensor


def _float_input(A, fn, dtype=None):
    if not isinstance(A, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(A).__name__}")
    if dtype is not None:
        dtype = _dtype.to_dtype(dtype)
        if not A.is_floating_point():
            raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. "
                               f"Got {_dtype.scalar_name(A.dtype)}")
        A = A.to(dtype)
    if not A.is_floating_point():
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got "
                           f"{_dtype.scalar_name(A.dtype)}")
    return A


def _square(A, fn):
    if A.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{fn}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """``(sum |x|**ord)**(1/ord)`` over ``dim`` (all dims when None)."""
    x = _float_input(x, "linalg.vector_norm", dtype)
    if isinstance(ord, str) or ord is None:
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    axes = normalize_dims(None if dim == () else dim, x.ndim)
    if x.numel() == 0 and ord < 0 or ord == -math.inf:
        if any(x.shape[a] == 0 for a in axes) or x.numel() == 0:
            raise RuntimeError("linalg.vector_norm cannot compute the -inf norm on an empty "
                               "tensor because the operation does not have an identity"
                               if ord == -math.inf else
                               f"linalg.vector_norm cannot compute the {ord} norm on an empty "
                               "tensor because the operation does not have an identity")
    if x.ndim == 0:
        return L.VectorNorm.apply(x.reshape(1), ord=float(ord), axes=(0,),
                                  keepdim=False).reshape(())
    return L.VectorNorm.apply(x, ord=float(ord), axes=axes, keepdim=keepdim)


def _two_dims(dim, ndim, fn):
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"{fn}: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (int(d) % ndim if -ndim <= int(d) < ndim else None for d in dim)
    if d0 is None or d1 is None:
        bad = [d for d in dim if not -ndim <= int(d) < ndim][0]
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got {bad})")
    if d0 == d1:
        raise RuntimeError(f"{fn}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Frobenius, nuclear, 1/-1 (column sums), inf/-inf (row sums), 2/-2 (singular values)."""
    fn = "linalg.matrix_norm"
    A = _float_input(A, fn, dtype)
    if A.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor A must have at least 2 dimensions.")
    d0, d1 = _two_dims(dim, A.ndim, fn)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        sum_dim, pick_dim = (d0, d1) if abs(ord) == 1 else (d1, d0)
        sums = A.abs().sum(sum_dim, keepdim=True)
        out = (sums.amax if ord > 0 else sums.amin)(pick_dim, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    if ord in ("nuc", 2, -2):
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    raise RuntimeError(f"{fn}: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """A vector norm for 1-D input or an int ``dim``, a matrix norm for 2-D input or a
    2-tuple ``dim``; with ``ord=None``, the 2-norm of the flattened input."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            if isinstance(ord, str):
                raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D "
                       f"or 2D. Got {A.ndim}D.")


def svdvals(A):
    A = _float_input(A, "linalg.svdvals")
    if A.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    return L.Svdvals.apply(A)


def inv(A):
    A = _float_input(A, "linalg.inv")
    _square(A, "linalg.inv")
    return L.Inverse.apply(A)


def det(A):
    A = _float_input(A, "linalg.det")
    _square(A, "linalg.det")
    return L.Det.apply(A)


def solve(A, B, *, left=True):
    """``X`` with ``A @ X = B`` (``left=False``: ``X @ A = B``). ``B`` is a vector when it
    is 1-D or has exactly A's batch dims plus one."""
    A = _float_input(A, "linalg.solve")
    B = _float_input(B, "linalg.solve")
    _square(A, "linalg.solve")
    if not left:
        return solve(A.mT, B.mT).mT
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    rhs = B.unsqueeze(-1) if vector else B
    if rhs.shape[-2] != A.shape[-1]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = "
                           f"B ({A.shape[-2]}x{A.shape[-1]} and {rhs.shape[-2]}x{rhs.shape[-1]})")
    batch = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(rhs.shape[:-2]))
    A = A.expand(*batch, *A.shape[-2:]) if tuple(A.shape[:-2]) != batch else A
    rhs = rhs.expand(*batch, *rhs.shape[-2:]) if tuple(rhs.shape[:-2]) != batch else rhs
    out = L.Solve.apply(A, rhs)
    return out.squeeze(-1) if vector else out


def cholesky(A, *, upper=False):
    A = _float_input(A, "linalg.cholesky")
    _square(A, "linalg.cholesky")
    lower = L.Cholesky.apply(A)
    return lower.mT if upper else lower


def _no_grad_decomposition(A, fn):
    A = _float_input(A, fn)
    if A.requires_grad and is_grad_enabled():
        raise NotImplementedError(f"{fn}: gradients are not implemented in nanotorch; call it "
                                  f"under no_grad() or on a detached tensor")
    return A._array


SVD = namedtuple("svd", ["U", "S", "Vh"])
QR = namedtuple("qr", ["Q", "R"])
EighResult = namedtuple("eigh", ["eigenvalues", "eigenvectors"])


def svd(A, full_matrices=True):
    u, s, vh = np.linalg.svd(_no_grad_decomposition(A, "linalg.svd"),
                             full_matrices=full_matrices)
    return SVD(Tensor._wrap(u), Tensor._wrap(s.astype(u.dtype)), Tensor._wrap(vh))


def qr(A, mode="reduced"):
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           f"'reduced' (default), 'r', or 'complete'")
    arr = _no_grad_decomposition(A, "linalg.qr")
    if mode == "r":
        r = np.linalg.qr(arr, mode="r")
        return QR(Tensor._wrap(np.zeros((0,), arr.dtype)), Tensor._wrap(r))
    q, r = np.linalg.qr(arr, mode=mode)
    return QR(Tensor._wrap(q), Tensor._wrap(r))


def eigh(A, UPLO="L"):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    w, v = np.linalg.eigh(_no_grad_decomposition(A, "linalg.eigh"), UPLO=UPLO)
    return EighResult(Tensor._wrap(w), Tensor._wrap(v))


def eigvalsh(A, UPLO="L"):
    return eigh(A, UPLO).eigenvalues


__all__ = ["cholesky", "det", "eigh", "eigvalsh", "inv", "matrix_norm", "norm", "qr", "solve",
           "svd", "svdvals", "vector_norm"]
