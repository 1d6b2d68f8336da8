"""Lookup tables: ``embedding`` (with padding_idx, max_norm, scale_grad_by_freq) and
``one_hot``; the embedding op is in ``ops/embedding.py``."""
from __future__ import annotations

import numpy as np

from ...autograd.grad_mode import no_grad
from ...ops.embedding import Embedding
from ...tensor import Tensor
from ._checks import check_tensor


def _check_indices(input, name):
    check_tensor(input, "input", name)
    if input._array.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.dtype} instead "
                           f"(while checking arguments for {name})")


def _renorm_rows(weight, indices, max_norm, norm_type):
    """Scale the looked-up rows of ``weight`` in place to norm <= max_norm."""
    rows = np.unique(indices)
    w = weight._array
    norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        w[rows[big]] *= scale[:, None]
        weight._bump_version()


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by the integer tensor ``input``: output shape
    ``input.shape + (embedding_dim,)``."""
    _check_indices(input, "embedding")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding(): 'weight' must be 2-D, got shape {list(weight.shape)}")
    if sparse:
        raise NotImplementedError("sparse gradients are not supported by nanotorch; use "
                                  "sparse=False (dense gradients)")
    n = weight.shape[0]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= n
    idx = input._array
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise IndexError(f"index out of range in self: index {bad} for an embedding "
                             f"with {n} rows")
    if idx.dtype != np.int64:
        idx = idx.astype(np.int64)
    if max_norm is not None:
        with no_grad():
            _renorm_rows(weight, idx, float(max_norm), float(norm_type))
    return Embedding.apply(weight, indices=idx, padding_idx=padding_idx,
                            scale_grad_by_freq=bool(scale_grad_by_freq))


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape ``tensor.shape + (num_classes,)`` with a 1 at each index."""
    check_tensor(tensor, "tensor", "one_hot")
    if tensor._array.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    idx = tensor._array
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(idx.max()) + 1
    elif num_classes < -1:
        raise RuntimeError(f"num_classes should be -1 or non-negative, got {num_classes}")
    if idx.size:
        if idx.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if idx.max() >= num_classes:
            raise RuntimeError(f"Class values must be smaller than num_classes. (got class "
                               f"{int(idx.max())} with num_classes={num_classes})")
    out = np.zeros((idx.size, num_classes), dtype=np.int64)
    out[np.arange(idx.size), idx.reshape(-1)] = 1
    return Tensor._wrap(out.reshape(idx.shape + (num_classes,)))
