"""The default process group: every rank started by ``mpiexec``, over a private duplicate of
``MPI.COMM_WORLD``. Rank and world size come from MPI; torch's rendezvous arguments are
accepted and checked against them."""
from __future__ import annotations

import datetime
import sys

from . import _mpi

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)   # PyTorch's default for CPU backends


class _ProcessGroup:
    """What a collective needs: the communicator, this rank, the world size, the timeout."""

    def __init__(self, MPI, comm, timeout_s: float):
        self.MPI, self.comm, self.timeout_s = MPI, comm, timeout_s
        self.rank, self.size = comm.Get_rank(), comm.Get_size()


_default: _ProcessGroup | None = None
_hook_installed = False


class group:
    """``dist.group.WORLD``: the only group nanotorch has (the default one)."""

    WORLD = "WORLD"


GroupMember = group


def is_available() -> bool:
    """Whether the distributed package can run here (mpi4py is installed)."""
    return _mpi.available()


def is_mpi_available() -> bool:
    return _mpi.available()


def is_gloo_available() -> bool:
    return False


def is_nccl_available() -> bool:
    return False


def is_torchelastic_launched() -> bool:
    return False


def is_initialized() -> bool:
    return _default is not None


def _check_rendezvous_args(backend, init_method, store, world_size, rank, size, my_rank):
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"backend {backend!r} is not available in nanotorch: use "
                         "backend='mpi' and start the ranks with mpiexec")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_method {init_method!r} is not supported: under MPI, mpiexec "
                         "starts and connects the ranks (leave init_method unset)")
    if store is not None:
        raise ValueError("store is not supported: under MPI, mpiexec connects the ranks")
    if world_size not in (-1, None) and int(world_size) != size:
        raise ValueError(f"world_size={world_size} but mpiexec started {size} processes")
    if rank not in (-1, None) and int(rank) != my_rank:
        raise ValueError(f"rank={rank} but MPI assigned rank {my_rank} to this process")


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the ranks started by ``mpiexec`` (``torch.distributed.init_process_group``).

    ``backend`` must be ``"mpi"`` (or None); ``world_size``/``rank``, when given, must agree
    with MPI's. A collective that waits longer than ``timeout`` (default 30 minutes) raises,
    and an uncaught exception on any rank aborts the whole job, so one failing rank never
    leaves the others hanging."""
    global _default
    if _default is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"timeout must be a datetime.timedelta, got {type(timeout).__name__}")
    if timeout.total_seconds() <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    MPI = _mpi.load()
    world = MPI.COMM_WORLD
    _check_rendezvous_args(backend, init_method, store, world_size, rank, world.Get_size(),
                           world.Get_rank())
    comm = world.Dup()
    comm.Set_errhandler(MPI.ERRORS_RETURN)
    _default = _ProcessGroup(MPI, comm, timeout.total_seconds())
    _install_abort_on_uncaught_exception(MPI)


def _install_abort_on_uncaught_exception(MPI):
    """After the traceback of an uncaught exception, abort every rank: the others would
    otherwise wait forever in their next collective (what ``python -m mpi4py`` does)."""
    global _hook_installed
    if _hook_installed:
        return
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        previous(exc_type, exc, tb)
        if _default is not None and _default.size > 1:
            sys.stderr.flush()
            MPI.COMM_WORLD.Abort(1)

    sys.excepthook = hook
    _hook_installed = True


def destroy_process_group(group=None) -> None:
    """Leave the default group (MPI itself is finalised at interpreter exit)."""
    global _default
    _check_group(group)
    pg = _require()
    _default = None
    pg.comm.Free()


def _check_group(group) -> None:
    if group is not None and group != "WORLD":
        raise ValueError("nanotorch.distributed has only the default group (group=None or "
                         f"dist.group.WORLD), got {group!r}")


def _require(group=None) -> _ProcessGroup:
    _check_group(group)
    if _default is None:
        raise ValueError("Default process group has not been initialized, please make sure "
                         "to call init_process_group.")
    return _default


def get_rank(group=None) -> int:
    return _require(group).rank


def get_world_size(group=None) -> int:
    return _require(group).size


def get_backend(group=None) -> str:
    _require(group)
    return "mpi"
