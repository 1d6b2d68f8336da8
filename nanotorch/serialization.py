"""``nanotorch.save`` / ``nanotorch.load``: safetensors files, written atomically.

A flat ``{name: Tensor}`` dict is saved as a plain safetensors file any tool can read.
Nested checkpoints (model and optimizer state dicts, epoch, metrics) are saved in the same
format: tensors under their dotted path, and the structure with the plain Python values
(numbers, strings, bools, None, lists, tuples, dicts) as JSON in the file's metadata.
Nothing is ever unpickled; ``load`` also reads PyTorch ``.pth``/``.pt`` files through a
restricted reader that only rebuilds tensors."""
from __future__ import annotations

import json
import os

import numpy as np

from .io import WeightFileError, load_arrays, load_torch_file, save_arrays, torch_file_to_arrays
from .tensor import Tensor

_STRUCTURE_KEY = "__nanotorch_structure__"


def _contiguous(arr):
    # (np.ascontiguousarray would turn a 0-d array into 1-d)
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


def _encode(obj, path, tensors):
    """JSON-able skeleton of ``obj``; tensors are moved to ``tensors`` under a unique key."""
    if isinstance(obj, Tensor):
        key = path or "tensor"
        while key in tensors:
            key += "_"
        tensors[key] = _contiguous(obj._array)
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        return _encode(Tensor._wrap(obj), path, tensors)
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and "__tensor__" not in obj:
            return {k: _encode(v, f"{path}.{k}" if path else k, tensors) for k, v in obj.items()}
        return {"__dict__": [[_encode(k, path, {}), _encode(v, f"{path}.{k}" if path else str(k),
                                                              tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{path}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{path}.{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    raise TypeError(f"nanotorch.save cannot store a {type(obj).__name__} (at '{path}'): only "
                    "tensors, numbers, strings, bools, None, lists, tuples and dicts")


def _decode(node, tensors):
    if isinstance(node, list):
        return [_decode(v, tensors) for v in node]
    if isinstance(node, dict):
        if "__tensor__" in node:
            key = node["__tensor__"]
            if key not in tensors:
                raise WeightFileError(f"structure names tensor '{key}' that the file lacks")
            return Tensor._wrap(tensors[key])
        if "__tuple__" in node:
            return tuple(_decode(v, tensors) for v in node["__tuple__"])
        if "__dict__" in node:
            return {_decode(k, tensors): _decode(v, tensors) for k, v in node["__dict__"]}
        if "__float__" in node:
            return float(node["__float__"])
        return {k: _decode(v, tensors) for k, v in node.items()}
    return node


def _is_flat(obj) -> bool:
    return isinstance(obj, dict) and all(isinstance(k, str) and isinstance(v, Tensor)
                                         for k, v in obj.items())


def save(obj, f, metadata: dict | None = None) -> None:
    """Save tensors (a state dict or a nested checkpoint) to ``f`` in safetensors format.
    The file is replaced atomically: a crash never leaves a half-written file."""
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str)
                                        for k, v in metadata.items()):
        raise TypeError("metadata must map str to str")
    meta = dict(metadata or {})
    tensors: dict = {}
    if _is_flat(obj):
        for k, v in obj.items():
            tensors[k] = _contiguous(v._array)
    else:
        meta[_STRUCTURE_KEY] = json.dumps(_encode(obj, "", tensors))
    save_arrays(tensors, os.fspath(f), meta)


def _file_kind(path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(9)
    if head[:4] == b"PK\x03\x04":
        return "torch"
    if len(head) == 9 and head[8:9] == b"{":
        return "safetensors"
    if head[:1] == b"\x80":
        return "torch"  # a pickle: the legacy torch format
    return "safetensors"  # let the safetensors reader say what is wrong


def load(f, map_location=None, weights_only: bool = True, mmap=None):
    """Load what ``save`` wrote (or a PyTorch ``.pth``/``.pt`` file, read safely)."""
    path = os.fspath(f)
    if _file_kind(path) == "torch":
        return _arrays_to_tensors(load_torch_file(path))
    arrays, meta = load_arrays(path)
    if _STRUCTURE_KEY in meta:
        try:
            structure = json.loads(meta[_STRUCTURE_KEY])
        except ValueError as e:
            raise WeightFileError(f"corrupt structure metadata: {e}", path) from None
        return _decode(structure, arrays)
    return {k: Tensor._wrap(v) for k, v in arrays.items()}


def load_metadata(f) -> dict:
    """The string metadata of a safetensors file (without the structure entry)."""
    _, meta = load_arrays(os.fspath(f))
    meta.pop(_STRUCTURE_KEY, None)
    return meta


def _arrays_to_tensors(obj):
    if isinstance(obj, np.ndarray):
        return Tensor._wrap(obj)
    if isinstance(obj, dict):
        return type(obj)((k, _arrays_to_tensors(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_arrays_to_tensors(v) for v in obj)
    return obj


def load_state_dict_file(path, prefix_strip: str | None = None) -> dict:
    """A flat ``{name: Tensor}`` state dict from a safetensors or PyTorch weight file,
    unwrapping common checkpoint layouts (``state_dict``, ``model``...) and optionally
    stripping a key prefix such as ``module.``."""
    path = os.fspath(path)
    if _file_kind(path) == "torch":
        arrays = torch_file_to_arrays(path, prefix_strip=prefix_strip)
        return {k: Tensor._wrap(v) for k, v in arrays.items()}
    obj = load(path)
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    flat = {}
    _flatten(obj, "", flat, path)
    if prefix_strip:
        flat = {k[len(prefix_strip):] if k.startswith(prefix_strip) else k: v
                for k, v in flat.items()}
    return flat


def _flatten(obj, prefix, out, path):
    if isinstance(obj, Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out, path)
    else:
        raise WeightFileError(f"'{prefix}' holds a {type(obj).__name__}, not a tensor: this "
                              "file is not a state dict", path)
