"""Data-parallel training over MPI (``torch.distributed``'s API, backend ``"mpi"``).

Start the ranks with ``mpiexec -n N python train.py``; each calls
``init_process_group(backend="mpi")``. Importing this package never needs mpi4py:
``init_process_group`` says what to install when it is missing."""
from .collectives import (
    all_gather,
    all_gather_into_tensor,
    all_reduce,
    barrier,
    broadcast,
    gather,
    reduce,
    scatter,
)
from .process_group import (
    GroupMember,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
)
from .reduce_op import ReduceOp
from .work import DistBackendError, Work

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available",
           "is_mpi_available", "is_gloo_available", "is_nccl_available",
           "is_torchelastic_launched", "get_rank", "get_world_size", "get_backend", "group",
           "GroupMember", "ReduceOp", "Work", "DistBackendError", "all_reduce", "reduce",
           "broadcast", "all_gather", "all_gather_into_tensor", "gather", "scatter", "barrier"]
