"""``norm`` (PyTorch's ``torch.norm`` / ``Tensor.norm`` dispatch onto ``linalg``),
``dist``, ``cdist`` and ``cross``."""
from __future__ import annotations

from .. import linalg
from ..ops.reduction import normalize_dims
from ..ops.registry import register


@register
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """A number ``p`` is a vector norm over ``dim`` (all elements when None); ``'fro'``
    the 2-norm over up to two dims; ``'nuc'`` the nuclear norm of a matrix."""
    if isinstance(dim, int):
        dim = (dim,)
    if isinstance(p, str):
        if p == "fro" and (dim is None or len(dim) <= 2):
            return linalg.vector_norm(input, 2, dim, keepdim, dtype=dtype)
        dims = tuple(range(input.ndim)) if dim is None else dim
        return linalg.matrix_norm(input, p, dims, keepdim, dtype=dtype)
    return linalg.vector_norm(input, 2.0 if p is None else p, dim, keepdim, dtype=dtype)


@register
def dist(input, other, p=2):
    return linalg.vector_norm(input - other, p)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """p-norm distances between the rows of ``x1`` (B, P, M) and of ``x2`` (B, R, M)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X{1 if x1.ndim < 2 else 2} "
                           f"got: {min(x1.ndim, x2.ndim)}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return linalg.vector_norm(diff, p, -1)


@register
def cross(input, other, dim=None):
    """The 3-vector cross product along ``dim`` (default: the first dim of size 3)."""
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if dim is None:
        dim = next((k for k, s in enumerate(input.shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    d = normalize_dims(dim, input.ndim)[0]
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    a = [input.select(d, k) for k in range(3)]
    b = [other.select(d, k) for k in range(3)]
    parts = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    from ..functions import stack
    return stack(parts, d)


__all__ = ["cdist", "cross", "dist", "norm"]


