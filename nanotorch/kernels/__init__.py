"""Numba kernels on NumPy arrays. Importing the package first installs the cache
locator that keys every kernel's on-disk cache on all of its source (_cache.py)."""
from . import _cache

_cache.install()
