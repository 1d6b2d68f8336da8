"""Flatten parameters into one vector and back."""
from __future__ import annotations

from ... import functions
from ...tensor import Tensor


def parameters_to_vector(parameters):
    """All ``parameters`` flattened and concatenated into one 1-D tensor
    (differentiable)."""
    return functions.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Point each parameter's data at its slice of ``vec`` (the inverse of
    ``parameters_to_vector``; the parameters share ``vec``'s memory afterwards)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise RuntimeError(f"vector_to_parameters: vec has shape {list(vec.shape)} but the "
                           f"parameters hold {total} elements")
    pointer = 0
    for p in params:
        n = p.numel()
        p.data = vec[pointer:pointer + n].view_as(p).data
        pointer += n
