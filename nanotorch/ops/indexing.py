"""Indexing: ``x[key]`` (basic and advanced) and ``x[key] = v``, with gradients."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Op


def normalize_key(key, shape):
    """Convert a user index (ints, slices, None, Ellipsis, lists, Tensors, bool masks) to a
    NumPy key, and tell whether it is basic (a view, no repeated elements)."""
    from ..tensor import Tensor

    if not isinstance(key, tuple):
        key = (key,)
    out, basic = [], True
    for k in key:
        if isinstance(k, Tensor):
            k = k._array
            if k.ndim == 0 and k.dtype.kind in "iu":
                k = int(k)
        if isinstance(k, (list, np.ndarray)):
            k = np.asarray(k)
            if k.dtype.kind not in "iub" and k.size:
                raise IndexError(f"tensors used as indices must be long, int, byte or bool "
                                 f"tensors, got {k.dtype}")
            if k.size == 0 and k.dtype.kind == "f":
                k = k.astype(np.int64)
            basic = False
        elif isinstance(k, (bool, np.bool_)):
            basic = False
        elif isinstance(k, slice) and k.step is not None and k.step <= 0:
            raise ValueError(f"step must be greater than zero (got {k.step})")
        elif not (k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer))):
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or "
                             f"byte Variables are valid indices (got {type(k).__name__})")
        out.append(k)
    _check_bounds(out, shape)
    return tuple(out), basic


def _check_bounds(key, shape):
    # NumPy raises IndexError too, but PyTorch's message names the dimension and size.
    dim = 0
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis
                 and not (isinstance(k, np.ndarray) and k.dtype == np.bool_ and k.ndim > 1))
    for k in key:
        if k is Ellipsis:
            dim += len(shape) - n_real
            continue
        if k is None:
            continue
        if isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
            if dim >= len(shape):
                raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
            if not -shape[dim] <= k < shape[dim]:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size "
                                 f"{shape[dim]}")
        elif isinstance(k, np.ndarray) and k.dtype.kind in "iu" and k.size and dim < len(shape):
            lo, hi = int(k.min()), int(k.max())
            if lo < -shape[dim] or hi >= shape[dim]:
                bad = hi if hi >= shape[dim] else lo
                raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size "
                                 f"{shape[dim]}")
        dim += k.ndim if isinstance(k, np.ndarray) and k.dtype == np.bool_ else 1


class Index(Op, backward_name="IndexBackward0"):
    def forward(self, a, key, basic):
        self.key, self.basic, self.in_shape = key, basic, a.shape
        return a[key]

    def backward(self, g):
        return IndexAddZeros.apply(g, key=self.key, basic=self.basic, shape=self.in_shape)


class Select(Index, backward_name="SelectBackward0"):
    pass


class Slice(Index, backward_name="SliceBackward0"):
    pass


class IndexSelect(Index, backward_name="IndexSelectBackward0"):
    pass


class IndexUnsqueeze(Index, backward_name="UnsqueezeBackward0"):
    pass


class IndexAlias(Index, backward_name="AliasBackward0"):
    pass


def _has_view_part(key, shape):
    """Whether ``key`` has a part that makes a view (an int, None, or a slice that is not
    the whole dim) besides its index arrays."""
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis
                 and not (isinstance(k, np.ndarray) and k.dtype == np.bool_))
    n_real += sum(k.ndim for k in key if isinstance(k, np.ndarray) and k.dtype == np.bool_)
    dim = 0
    for k in key:
        if k is Ellipsis:
            dim += len(shape) - n_real
        elif isinstance(k, np.ndarray):
            dim += k.ndim if k.dtype == np.bool_ else 1
        elif k is None or isinstance(k, (bool, np.bool_)):
            return True
        elif isinstance(k, slice):
            if k.indices(shape[dim]) != (0, shape[dim], 1):
                return True
            dim += 1
        else:
            return True
    return False


def setitem_op(key, basic, shape):
    """PyTorch names ``x[key] = v`` IndexPutBackward0 when ``key`` is index arrays (and
    full slices) only, CopySlices when part of it takes a view first."""
    return IndexPut if basic or _has_view_part(key, shape) else IndexPutAdvanced


def basic_op(key, shape):
    """The op for a basic (view) ``key``: PyTorch applies the key's parts left to right,
    so the node is named after the last one that does something."""
    op, dim = IndexAlias, 0
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    for k in key:
        if k is Ellipsis:
            dim += len(shape) - n_real
        elif k is None:
            op = IndexUnsqueeze
        elif isinstance(k, slice):
            if k.indices(shape[dim]) != (0, shape[dim], 1):
                op = Slice
            dim += 1
        else:
            op, dim = Select, dim + 1
    return op


class IndexAddZeros(Op, backward_name="IndexPutBackward0"):
    """zeros(shape) with ``g`` added at ``key`` (repeated indices accumulate)."""

    def forward(self, g, key, basic, shape):
        self.key, self.basic = key, basic
        out = np.zeros(shape, dtype=g.dtype)
        if basic:
            out[key] = g
        else:
            np.add.at(out, key, g)
        return out

    def backward(self, gg):
        return Index.apply(gg, key=self.key, basic=self.basic)


class IndexPut(Op, backward_name="CopySlices"):
    """``out = a.clone(); out[key] = v`` (the out-of-place form of ``__setitem__``)."""

    def forward(self, a, v, key, basic):
        self.key, self.basic = key, basic
        out = a.copy()
        out[key] = v
        return out

    def backward(self, g):
        from ..tensor import Tensor
        need_a, need_v = self.needs_input_grad
        ga = IndexPut.apply(g, Tensor._wrap(np.zeros((), g._array.dtype)), key=self.key,
                            basic=self.basic) if need_a else None
        gv = Index.apply(g, key=self.key, basic=self.basic) if need_v else None
        return ga, gv


class IndexPutAdvanced(IndexPut, backward_name="IndexPutBackward0"):
    pass
