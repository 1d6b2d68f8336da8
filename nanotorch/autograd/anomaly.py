"""Anomaly detection: remember where each node was created and catch NaN gradients."""
from __future__ import annotations

_enabled = False


def is_enabled() -> bool:
    return _enabled


class set_detect_anomaly:
    """Turn anomaly detection on/off; also a context manager restoring the old setting."""

    def __init__(self, mode: bool, check_nan: bool = True):
        global _enabled
        self._prev = _enabled
        _enabled = bool(mode)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        global _enabled
        _enabled = self._prev
        return False


class detect_anomaly(set_detect_anomaly):
    """Context manager enabling anomaly detection."""

    def __init__(self, check_nan: bool = True):
        super().__init__(True, check_nan)
