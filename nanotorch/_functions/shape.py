"""Shape and layout functions: diagonals (``diag``, ``diagonal``, ``diag_embed``,
``trace``), triangle indices, ``movedim``, ``ravel``, flips and ``rot90``, the ``*stack``
helpers, ``meshgrid``, ``kron``, ``block_diag`` and ``repeat_interleave``."""
from __future__ import annotations

import warnings

import numpy as np

from .. import _dtype
from ..functions import cat, flip
from ..ops import diagonal as D
from ..ops.reduction import normalize_dims
from ..ops.registry import register
from ..tensor import Tensor


def _dim_pair(input, dim1, dim2, ndim=None):
    ndim = input.ndim if ndim is None else ndim
    d1, d2 = normalize_dims(dim1, ndim)[0], normalize_dims(dim2, ndim)[0]
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


@register
def diagonal(input, offset=0, dim1=0, dim2=1):
    if input.ndim < 2:
        raise RuntimeError(f"diagonal(): input must have at least 2 dims, got {input.ndim}")
    d1, d2 = _dim_pair(input, dim1, dim2)
    return D.Diagonal.apply(input, offset=int(offset), dim1=d1, dim2=d2)


@register
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    ndim = input.ndim + 1
    d1, d2 = _dim_pair(input, dim1, dim2, ndim)
    n = input.shape[-1] + abs(int(offset))
    rest = iter(input.shape[:-1])
    shape = tuple(n if k in (d1, d2) else next(rest) for k in range(ndim))
    return D.DiagEmbed.apply(input, shape=shape, offset=int(offset), dim1=d1, dim2=d2)


@register
def diag(input, diagonal=0):
    """A 1-D input becomes a square matrix with it on the ``diagonal``-th diagonal; a 2-D
    input gives that diagonal as a vector."""
    if input.ndim == 1:
        n = input.shape[0] + abs(int(diagonal))
        return D.DiagEmbedVector.apply(input, shape=(n, n), offset=int(diagonal), dim1=0, dim2=1)
    if input.ndim == 2:
        return D.Diagonal.apply(input, offset=int(diagonal), dim1=0, dim2=1)
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{input.ndim}D")


@register
def trace(input):
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if not input.is_floating_point():
        return Tensor._wrap(np.asarray(np.trace(input._array), dtype=np.int64))
    return diagonal(input).sum()


def _triangle_indices(fn, row, col, offset, dtype):
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else
                           f"col must be non-negative, got{col}")
    rows, cols = fn(row, offset, col)
    dt = _dtype.to_dtype(dtype)
    return Tensor._wrap(np.stack([rows, cols]).astype(dt.np).reshape(2, -1))


def tril_indices(row, col, offset=0, *, dtype=_dtype.int64, device=None, layout=None):
    return _triangle_indices(np.tril_indices, row, col, offset, dtype)


def triu_indices(row, col, offset=0, *, dtype=_dtype.int64, device=None, layout=None):
    return _triangle_indices(np.triu_indices, row, col, offset, dtype)


@register(aliases=("moveaxis",))
def movedim(input, source, destination):
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    nd = max(input.ndim, 1)
    src = [normalize_dims(d, nd)[0] if input.ndim else 0 for d in src]
    dst = [normalize_dims(d, nd)[0] if input.ndim else 0 for d in dst]
    if input.ndim == 0:
        return input.view(())
    order = [d for d in range(input.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return input.permute(*order)


moveaxis = movedim


@register
def ravel(input):
    return input.reshape(-1)


@register
def fliplr(input):
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, [1])


@register
def flipud(input):
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, [0])


@register
def rot90(input, k=1, dims=(0, 1)):
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = normalize_dims(dims[0], input.ndim)[0], normalize_dims(dims[1], input.ndim)[0]
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return flip(input, [d1]).transpose(d0, d1)
    if k == 2:
        return flip(input, [d0, d1])
    if k == 3:
        return flip(input, [d0]).transpose(d0, d1)
    return input.clone()


def _at_least(t, ndim):
    if t.ndim == 0:
        t = t.reshape(1)
    if ndim >= 2 and t.ndim == 1:
        t = t.unsqueeze(0)
    if ndim >= 3 and t.ndim == 2:
        t = t.unsqueeze(-1)
    return t


def atleast_1d(*tensors):
    return _at_least_all(tensors, 1)


def atleast_2d(*tensors):
    return _at_least_all(tensors, 2)


def atleast_3d(*tensors):
    return _at_least_all(tensors, 3)


def _at_least_all(tensors, ndim):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(_at_least(t, ndim) for t in tensors[0])
    out = tuple(_at_least(t, ndim) for t in tensors)
    return out[0] if len(out) == 1 else out


def dstack(tensors):
    return cat([_at_least(t, 3) for t in tensors], 2)


def column_stack(tensors):
    return cat([t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors], 1)


def row_stack(tensors):
    return cat([_at_least(t, 2) for t in tensors], 0)


def meshgrid(*tensors, indexing=None):
    """Grids from 1-D tensors (views: gradients flow back); ``indexing`` 'ij' or 'xy'."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    grids = []
    for k, t in enumerate(flat):
        view = [1] * len(flat)
        view[k] = -1
        grids.append(t.reshape(view).expand(*shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@register
def kron(input, other):
    nd = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.ndim) + tuple(other.shape))
    a_view, b_view = [], []
    for sa, sb in zip(a.shape, b.shape):
        a_view += [sa, 1]
        b_view += [1, sb]
    out = a.reshape(a_view) * b.reshape(b_view)
    return out.reshape(tuple(sa * sb for sa, sb in zip(a.shape, b.shape)))


def block_diag(*tensors):
    """The tensors (0-, 1- or 2-D) as blocks along the diagonal of a zero matrix."""
    from ..nn.functional import pad
    blocks = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {t.ndim} dimensions")
        blocks.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not blocks:
        return Tensor._wrap(np.zeros((1, 0), dtype=np.float32))
    dt = _dtype.result_type(*blocks)
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        b = b.to(dt) if b.dtype is not dt else b
        rows.append(pad(b, (left, width - left - b.shape[1])))
        left += b.shape[1]
    return cat(rows, 0)


@register
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (or slice along ``dim``) repeated ``repeats`` times (an int or a
    tensor with one count per element). ``repeat_interleave(counts)`` repeats
    ``arange(len(counts))``."""
    if repeats is None:
        counts = input
        if counts.ndim != 1 or counts.is_floating_point():
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        reps = counts._array.astype(np.int64)
        if (reps < 0).any():
            raise RuntimeError("repeats can not be negative")
        return Tensor._wrap(np.repeat(np.arange(reps.size, dtype=counts._array.dtype), reps))
    if dim is None:
        input, d = input.reshape(-1), 0
    else:
        d = normalize_dims(dim, input.ndim)[0] if input.ndim else 0
        if input.ndim == 0:
            input = input.reshape(1)
    size = input.shape[d]
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        reps = repeats._array.astype(np.int64).reshape(-1)
        if reps.size == 1:
            reps = np.full(size, reps[0])
        elif reps.size != size:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {reps.size} and input.size({d}) = {size}")
    else:
        if int(repeats) < 0:
            raise RuntimeError("Repeats must be non-negative")
        reps = np.full(size, int(repeats))
    if (reps < 0).any():
        raise RuntimeError("repeats can not be negative")
    index = np.repeat(np.arange(size), reps)
    if output_size is not None and index.size != output_size:
        raise RuntimeError(f"repeat_interleave: output_size ({output_size}) does not match the "
                           f"sum of repeats ({index.size})")
    return input.index_select(d, Tensor._wrap(index))


__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "column_stack", "diag",
           "diag_embed", "diagonal", "dstack", "fliplr", "flipud", "kron", "meshgrid", "movedim",
           "moveaxis", "ravel", "repeat_interleave", "rot90", "row_stack", "trace", "tril_indices",
           "triu_indices"]
