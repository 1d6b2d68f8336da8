"""``torch.accelerator``: nanotorch has none (only the CPU, which is not an accelerator)."""
from __future__ import annotations


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False):
    """None: no accelerator is present."""
    return None


def device_count() -> int:
    return 0
