"""Collectives on nanotorch tensors, in place on their NumPy buffers (``tensor._array``).
Every one is an MPI non-blocking collective wrapped in a ``Work``: ``async_op=True``
returns it, otherwise it is waited for here. A non-contiguous tensor goes through a
contiguous copy that is written back when the collective completes."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .process_group import _require
from .reduce_op import ReduceOp, mpi_op
from .work import Work

_BOOL_OPS = {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.MAX: ReduceOp.MAX, ReduceOp.BOR: ReduceOp.MAX,
             ReduceOp.PRODUCT: ReduceOp.MIN, ReduceOp.MIN: ReduceOp.MIN,
             ReduceOp.BAND: ReduceOp.MIN}


def _check_tensor(t, name="tensor") -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a nanotorch Tensor, got {type(t).__name__}")


def _check_rank(pg, r, name) -> int:
    if not isinstance(r, (int, np.integer)) or not 0 <= r < pg.size:
        raise ValueError(f"{name}={r!r} is not a rank of the group (world size {pg.size})")
    return int(r)


class _Buffer:
    """The contiguous array MPI works on for ``tensor``: its own array when possible, else a
    copy that ``write_back`` stores into the tensor."""

    def __init__(self, tensor, read=True):
        arr = tensor._array
        self.tensor = tensor
        self.direct = arr.flags.c_contiguous and arr.flags.writeable
        if self.direct:
            self.array = arr
        elif read:
            self.array = np.ascontiguousarray(arr)
        else:
            self.array = np.empty(arr.shape, arr.dtype)

    def write_back(self) -> None:
        if not self.direct:
            np.copyto(self.tensor._array, self.array)
        self.tensor._bump_version()


def _reduction(pg, arr, op):
    """(array for MPI, MPI op) for a reduction: bool goes as bytes with MAX (or) / MIN (and)."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a dist.ReduceOp, got {op!r}")
    if arr.dtype == np.bool_:
        if op not in _BOOL_OPS:
            raise RuntimeError(f"ReduceOp.{op.name} is not supported for bool tensors")
        return arr.view(np.uint8), mpi_op(pg.MPI, _BOOL_OPS[op])
    if arr.dtype == np.float16:
        raise TypeError("float16 tensors cannot be reduced over MPI (no half-precision "
                        "MPI type); convert to float32 first")
    if op is ReduceOp.AVG and arr.dtype.kind != "f":
        raise RuntimeError(f"ReduceOp.AVG needs a floating-point tensor, got {arr.dtype}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and arr.dtype.kind == "f":
        raise RuntimeError(f"ReduceOp.{op.name} needs an integer tensor, got {arr.dtype}")
    return arr, mpi_op(pg.MPI, op)


def _run(pg, requests, finish, async_op, what):
    work = Work(requests, finish, pg.timeout_s, what)
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` over all ranks with ``op``; every rank gets the result in place."""
    pg = _require(group)
    _check_tensor(tensor)
    buf = _Buffer(tensor)
    arr, mop = _reduction(pg, buf.array, op)
    req = pg.comm.Iallreduce(pg.MPI.IN_PLACE, arr, mop)

    def finish():
        if op is ReduceOp.AVG:
            np.divide(buf.array, pg.size, out=buf.array)
        buf.write_back()
    return _run(pg, [req], finish, async_op, "all_reduce")


def reduce(tensor, dst=0, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` over all ranks into rank ``dst``'s tensor (the others keep theirs)."""
    pg = _require(group)
    _check_tensor(tensor)
    dst = _check_rank(pg, dst, "dst")
    buf = _Buffer(tensor)
    arr, mop = _reduction(pg, buf.array, op)
    if pg.rank == dst:
        req = pg.comm.Ireduce(pg.MPI.IN_PLACE, arr, mop, root=dst)
    else:
        req = pg.comm.Ireduce(arr, None, mop, root=dst)

    def finish():
        if pg.rank == dst:
            if op is ReduceOp.AVG:
                np.divide(buf.array, pg.size, out=buf.array)
            buf.write_back()
    return _run(pg, [req], finish, async_op, "reduce")


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank ``src``'s tensor into every rank's ``tensor`` (same shape and dtype)."""
    pg = _require(group)
    _check_tensor(tensor)
    src = _check_rank(pg, src, "src")
    buf = _Buffer(tensor, read=pg.rank == src)
    req = pg.comm.Ibcast(buf.array.reshape(-1).view(np.uint8), root=src)

    def finish():
        if pg.rank != src:
            buf.write_back()
    return _run(pg, [req], finish, async_op, "broadcast")


def _check_like(tensors, like, name, size):
    if not isinstance(tensors, (list, tuple)) or len(tensors) != size:
        raise ValueError(f"{name} must be a list of {size} tensors (one per rank)")
    for i, t in enumerate(tensors):
        _check_tensor(t, f"{name}[{i}]")
        if t.shape != like.shape or t.dtype != like.dtype:
            raise ValueError(f"{name}[{i}] has shape {tuple(t.shape)} and dtype {t.dtype}; "
                             f"expected {tuple(like.shape)} and {like.dtype} like the input")


def _bytes(arr):
    return np.ascontiguousarray(arr).reshape(-1).view(np.uint8)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's ``tensor`` into ``tensor_list[rank]``, on every rank."""
    pg = _require(group)
    _check_tensor(tensor)
    _check_like(tensor_list, tensor, "tensor_list", pg.size)
    recv = np.empty((pg.size,) + tensor._array.shape, tensor._array.dtype)
    req = pg.comm.Iallgather(_bytes(tensor._array), recv.reshape(-1).view(np.uint8))

    def finish():
        for out, part in zip(tensor_list, recv):
            np.copyto(out._array, part)
            out._bump_version()
    return _run(pg, [req], finish, async_op, "all_gather")


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Every rank's ``input_tensor`` concatenated along dim 0 (or stacked) into
    ``output_tensor``, whose number of elements is world size x the input's."""
    pg = _require(group)
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    if output_tensor.dtype != input_tensor.dtype:
        raise ValueError(f"output tensor dtype {output_tensor.dtype} does not match input "
                         f"dtype {input_tensor.dtype}")
    if output_tensor.numel() != pg.size * input_tensor.numel():
        raise ValueError(f"output tensor must have world_size ({pg.size}) times the input's "
                         f"{input_tensor.numel()} elements, got {output_tensor.numel()}")
    buf = _Buffer(output_tensor, read=False)
    req = pg.comm.Iallgather(_bytes(input_tensor._array), buf.array.reshape(-1).view(np.uint8))
    return _run(pg, [req], buf.write_back, async_op, "all_gather_into_tensor")


def _check_rooted(pg, tensor, tensors, root, list_name, root_name):
    """The checks of a rooted collective: ``tensor``, the ``root`` rank, and a ``tensors``
    list like ``tensor`` (one per rank) on the root only; returns the root."""
    _check_tensor(tensor)
    root = _check_rank(pg, root, root_name)
    if pg.rank == root:
        _check_like(tensors, tensor, list_name, pg.size)
    elif tensors:
        side = "destination" if root_name == "dst" else "source"
        raise ValueError(f"{list_name} must be given only on the {side} rank")
    return root


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (None elsewhere)."""
    pg = _require(group)
    dst = _check_rooted(pg, tensor, gather_list, dst, "gather_list", "dst")
    recv = None
    if pg.rank == dst:
        recv = np.empty((pg.size,) + tensor._array.shape, tensor._array.dtype)
    req = pg.comm.Igather(_bytes(tensor._array),
                          None if recv is None else recv.reshape(-1).view(np.uint8), root=dst)

    def finish():
        if recv is not None:
            for out, part in zip(gather_list, recv):
                np.copyto(out._array, part)
                out._bump_version()
    return _run(pg, [req], finish, async_op, "gather")


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """``scatter_list[r]`` of rank ``src`` into rank r's ``tensor``."""
    pg = _require(group)
    src = _check_rooted(pg, tensor, scatter_list, src, "scatter_list", "src")
    send = None
    if pg.rank == src:
        send = np.stack([t._array for t in scatter_list]).reshape(-1).view(np.uint8)
    buf = _Buffer(tensor, read=False)
    req = pg.comm.Iscatter(send, buf.array.reshape(-1).view(np.uint8), root=src)
    return _run(pg, [req], buf.write_back, async_op, "scatter")


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank has reached this call."""
    pg = _require(group)
    return _run(pg, [pg.comm.Ibarrier()], None, async_op, "barrier")
