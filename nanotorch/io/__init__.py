"""Weight-file I/O at the NumPy level: safetensors and PyTorch pickle files."""

from .atomic import atomic_open, atomic_write
from .errors import UnsafePickleError, WeightFileError
from .safetensors_io import load_arrays, save_arrays
from .torch_pickle import load_torch_file, torch_file_to_arrays

__all__ = [
    "WeightFileError",
    "UnsafePickleError",
    "atomic_open",
    "atomic_write",
    "save_arrays",
    "load_arrays",
    "load_torch_file",
    "torch_file_to_arrays",
]
