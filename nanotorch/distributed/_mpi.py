"""Loading mpi4py on demand: importing ``mpi4py.MPI`` initialises MPI, so it happens in
``init_process_group`` and never at ``import nanotorch``."""
from __future__ import annotations

import importlib.util

INSTALL_HINT = "pip install 'nanotorch[distributed]'  (mpi4py and Open MPI)"


def available() -> bool:
    """Whether mpi4py can be imported (without importing it)."""
    return importlib.util.find_spec("mpi4py") is not None


def load():
    """The ``mpi4py.MPI`` module, or a RuntimeError saying what to install."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError("nanotorch.distributed needs mpi4py and an MPI library, which are "
                           f"not installed: {INSTALL_HINT}") from e
    return MPI
