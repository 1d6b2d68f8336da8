"""``ReduceOp``: how collectives combine the ranks' tensors."""
from __future__ import annotations

import enum


class ReduceOp(enum.Enum):
    """PyTorch's reduction names (``dist.ReduceOp.SUM`` ...)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


def mpi_op(MPI, op: ReduceOp):
    """The MPI operation for ``op`` (AVG is a SUM followed by a division)."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a dist.ReduceOp, got {op!r}")
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
            ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}[op]
