"""Refuse a run up front when its memory estimate exceeds what the machine has free."""
from __future__ import annotations

import os

# float32 values a training step keeps per input value (saved activations, their gradients
# and workspaces of the largest torchvision classifiers at small batch sizes), and what an
# evaluation batch needs without a graph; deliberately generous: the check only has to catch
# runs that cannot fit, not to predict the peak.
TRAIN_FACTOR = 100
EVAL_FACTOR = 16
EVAL_BATCH = 256
WIDEST_HEAD_INPUT = 4096  # VGG's classifier; ResNet-50 has 2048, MobileNetV2 1280


class MemoryEstimateError(ValueError):
    """The run would need more memory than is available."""


def available_memory() -> int | None:
    """Bytes the system can give without swapping: MemAvailable from /proc/meminfo on
    Linux, else free physical pages from sysconf, else None (unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _fmt(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def estimate_bytes(image_size: int, batch_size: int, num_classes: int,
                   features: int = 0) -> int:
    """Rough peak memory of a run: one training batch and one evaluation batch with their
    activations, two preprocessed batches in flight, ``features`` bytes of cached features
    and the head (weights, gradient, momentum, best copy). Images are preprocessed batch by
    batch, never all at once, so the data size does not enter."""
    image = 3 * image_size * image_size * 4
    return (batch_size * image * TRAIN_FACTOR + EVAL_BATCH * image * (EVAL_FACTOR + 2)
            + features + WIDEST_HEAD_INPUT * num_classes * 4 * 4)


def check_fits(estimate: int, what: str, available: int | None = None) -> None:
    """Raise MemoryEstimateError naming ``what`` and the estimate if it cannot fit."""
    available = available_memory() if available is None else available
    if available is not None and estimate > available:
        raise MemoryEstimateError(
            f"{what} needs about {_fmt(estimate)} of memory, but only {_fmt(available)} is "
            "available; lower --image-size or --batch-size, or use --train-limit/--test-limit")
