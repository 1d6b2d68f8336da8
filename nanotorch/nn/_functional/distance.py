"""``F.normalize``, ``F.cosine_similarity`` and ``F.pairwise_distance``, written with
differentiable tensor ops (their gradients come from those ops)."""
from __future__ import annotations

from ... import linalg
from ._checks import check_tensor


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(||input||_p, eps)`` along ``dim``."""
    check_tensor(input, "input", "normalize")
    denom = linalg.vector_norm(input, p, dim, keepdim=True).clamp_min(eps)
    result = input / denom.expand_as(input)
    if out is not None:
        return out.copy_(result)
    return result


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (each norm clamped to at
    least ``eps``); the inputs broadcast."""
    check_tensor(x1, "x1", "cosine_similarity")
    check_tensor(x2, "x2", "cosine_similarity")
    shape = _broadcast_shape(x1, x2)
    x1, x2 = x1.expand(*shape), x2.expand(*shape)
    n1 = linalg.vector_norm(x1, 2, dim, keepdim=True).clamp_min(eps)
    n2 = linalg.vector_norm(x2, 2, dim, keepdim=True).clamp_min(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def _broadcast_shape(a, b):
    import numpy as np
    try:
        return np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({a.shape[-1]}) must match the size of tensor "
                           f"b ({b.shape[-1]}) at non-singleton dimension "
                           f"{max(a.ndim, b.ndim) - 1}") from None


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` over the last dim."""
    check_tensor(x1, "x1", "pairwise_distance")
    check_tensor(x2, "x2", "pairwise_distance")
    nd = max(x1.ndim, x2.ndim)
    dim = -1 if nd else 0
    return linalg.vector_norm(x1 - x2 + eps, p, dim, keepdim=keepdim)
