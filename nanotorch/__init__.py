"""nanotorch: a small, fast, honest neural-network framework with PyTorch's API."""
from __future__ import annotations

import builtins as _builtins
import os as _os

_builtin_int = _builtins.int

# Numba's OpenMP workers otherwise spin after each parallel kernel and starve OpenBLAS's
# threads (a conv loop ran 25x slower); must be set before Numba starts its pool.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import _malloc  # noqa: E402

_malloc.tune()

from . import (
    _dtype,
    _tensor_methods,  # noqa: F401  (binds methods onto Tensor)
    autograd,
    nn,
    optim,
    utils,
)
from ._dtype import (
    bfloat16,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from ._dtype import bool_ as bool
from ._dtype import result_type as _result_type
from ._printing import get_printoptions, set_printoptions
from ._version import __version__
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .autograd.anomaly import detect_anomaly, set_detect_anomaly
from .creation import (
    arange,
    as_tensor,
    bernoulli,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .functions import *  # noqa: F401,F403  (the torch.* tensor functions)
from .functions import return_types
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .tensor import Size, Tensor, device

half, float, double = float16, float32, float64
long, int, short = int64, int32, int16



def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input) -> int:
    return input.numel()


def result_type(tensor1, tensor2):
    return _result_type(tensor1, tensor2)


def promote_types(type1, type2):
    return _dtype._promote_pair(type1, type2)


def is_floating_point(input) -> bool:
    return input.is_floating_point()


def get_num_threads() -> int:
    import numba
    return numba.get_num_threads()


def set_num_threads(n: int) -> None:
    """Threads for kernels and BLAS (like ``torch.set_num_threads``)."""
    import numba

    from .kernels._workers import set_blas_threads
    if not isinstance(n, _builtin_int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    numba.set_num_threads(_builtins.min(n, numba.config.NUMBA_NUM_THREADS))
    set_blas_threads(n)


# device namespaces, global switches, legacy constructors and testing (PyTorch's surface)
from . import accelerator, backends, cuda, testing  # noqa: E402,F401,I001
from ._flags import (  # noqa: E402,F401
    are_deterministic_algorithms_enabled, compile, get_float32_matmul_precision,
    is_deterministic_algorithms_warn_only_enabled, set_float32_matmul_precision,
    use_deterministic_algorithms)
from ._legacy import (  # noqa: E402,F401
    BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor,
    LongTensor, ShortTensor)

from .serialization import load, save  # noqa: E402

from ._out import install as _install_out  # noqa: E402

_install_out(globals())  # out= on the torch.* functions that take it (methods stay bare)
