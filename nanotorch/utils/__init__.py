"""Utilities (``torch.utils``): ``data`` for datasets and loaders."""
from . import data

__all__ = ["data"]
