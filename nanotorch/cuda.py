"""``torch.cuda`` for a CPU-only framework: CUDA is never available.

The queries answer as PyTorch's CPU build does (no device, nothing initialised, no memory
in use); seeding and cache clearing are harmless no-ops so that seeded CPU scripts run;
calls that need a GPU raise PyTorch's error."""
from __future__ import annotations

_NO_CUDA = "Torch not compiled with CUDA enabled (nanotorch runs on the CPU only)"


def _no_cuda(*args, **kwargs):
    raise AssertionError(_NO_CUDA)


def is_available() -> bool:
    return False


def is_initialized() -> bool:
    return False


def device_count() -> int:
    return 0


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def manual_seed(seed) -> None:
    """No-op (there is no CUDA generator); ``seed`` must be an integer, as in PyTorch."""
    int(seed)


def manual_seed_all(seed) -> None:
    """No-op (there are no CUDA generators); ``seed`` must be an integer."""
    int(seed)


def seed() -> None:
    """No-op."""


def seed_all() -> None:
    """No-op."""


def empty_cache() -> None:
    """No-op: there is no CUDA cache to release."""


def memory_allocated(device=None) -> int:
    return 0


def max_memory_allocated(device=None) -> int:
    return 0


def memory_reserved(device=None) -> int:
    return 0


def max_memory_reserved(device=None) -> int:
    return 0


synchronize = current_device = get_device_name = get_device_properties = _no_cuda
get_device_capability = set_device = initial_seed = get_rng_state = set_rng_state = _no_cuda
reset_peak_memory_stats = _no_cuda


class device:
    """``torch.cuda.device(index)`` context manager: entering it needs a GPU."""

    def __init__(self, device):
        self.idx = device

    def __enter__(self):
        _no_cuda()

    def __exit__(self, *exc):
        return False
