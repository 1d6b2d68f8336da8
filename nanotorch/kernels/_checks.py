"""Argument checks shared by the kernels' Python entry points."""
import numpy as np


def check_float(arr, name):
    """Raise ValueError unless ``arr`` is a float32 or float64 NumPy array."""
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {arr.dtype}")
