"""The nanotorch model definitions instantiated with real PyTorch; see
benchmarks/_torch_models.py. Used by the benchmarks and the parity tests."""
from __future__ import annotations

from benchmarks._torch_models import build

__all__ = ["build", "resnet18"]


def resnet18(torch, **kwargs):
    return build("resnet18", torch, **kwargs)
