"""``nanotorch.save`` / ``nanotorch.load``: PyTorch's zip format or safetensors, never code.

``save`` writes PyTorch's own zip format by default, so ``torch.load(f, weights_only=True)``
reads it; with ``format="safetensors"`` (or a ``.safetensors`` file name) it writes
safetensors instead: a flat ``{name: Tensor}`` dict as a plain file any tool reads, a nested
checkpoint (state dicts, epoch, metrics) with its structure as JSON in the metadata, and a
CRC-32 checksum that ``load`` verifies. Paths are replaced atomically; binary file objects
work too. ``load`` reads both formats (and legacy ``.pth`` files) through restricted readers
that only rebuild tensors and plain containers.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from .io import WeightFileError, load_arrays, save_arrays, torch_file_to_arrays
from .io.atomic import atomic_write
from .io.safetensors_io import STRUCTURE_KEY
from .io.torch_pickle import add_safe_globals, get_safe_globals, load_torch_objects
from .io.torch_writer import TensorData, write_torch_zip
from .tensor import Tensor

__all__ = [
    "save",
    "load",
    "load_metadata",
    "load_state_dict_file",
    "add_safe_globals",
    "get_safe_globals",
]

_MAX_DEPTH = 100  # nesting of a checkpoint's structure; real ones use fewer than 10 levels
_MAX_EQUAL_HASHES = 8  # keys of one dict sharing a hash: more means a crafted file


# ----------------------------------------------------------------------------- save


def _contiguous(arr):
    # (np.ascontiguousarray would turn a 0-d array into 1-d)
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


def _encode(obj, path, tensors, depth=0):
    """JSON-able skeleton of ``obj``; tensors are moved to ``tensors`` under a unique key."""
    if depth > _MAX_DEPTH:
        raise ValueError(
            f"nanotorch.save: containers nest deeper than {_MAX_DEPTH} levels (at '{path}')"
        )
    if isinstance(obj, Tensor):
        key = path or "tensor"
        while key in tensors:
            key += "_"
        tensors[key] = _contiguous(obj._array)
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        return _encode(Tensor._wrap(obj), path, tensors, depth)
    d = depth + 1
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and "__tensor__" not in obj:
            return {k: _encode(v, f"{path}.{k}" if path else k, tensors, d) for k, v in obj.items()}
        return {
            "__dict__": [
                [_encode(k, path, {}, d), _encode(v, f"{path}.{k}" if path else str(k), tensors, d)]
                for k, v in obj.items()
            ]
        }
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{path}.{i}", tensors, d) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{path}.{i}", tensors, d) for i, v in enumerate(obj)]
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    raise TypeError(
        f"nanotorch.save cannot store a {type(obj).__name__} (at '{path}'): only "
        "tensors, numbers, strings, bools, None, lists, tuples and dicts"
    )


def _is_flat(obj) -> bool:
    return isinstance(obj, dict) and all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()
    )


def _save_safetensors(obj, f, metadata: dict | None) -> None:
    meta = dict(metadata or {})
    tensors: dict = {}
    if _is_flat(obj):
        for k, v in obj.items():
            tensors[k] = _contiguous(v._array)
    else:
        meta[STRUCTURE_KEY] = json.dumps(_encode(obj, "", tensors))
    save_arrays(tensors, f, meta)


def _tensor_data(obj) -> TensorData | None:
    if isinstance(obj, Tensor):
        from .nn.parameter import Parameter  # (nn imports this module's package)

        return TensorData(obj._array, bool(obj.requires_grad), isinstance(obj, Parameter))
    if isinstance(obj, np.ndarray):
        return TensorData(obj)
    return None


def _is_file(f) -> bool:
    return hasattr(f, "write") or hasattr(f, "read")


def save(obj, f, metadata: dict | None = None, format: str | None = None) -> None:
    """Save tensors, state dicts or a nested checkpoint to ``f`` (a path or a binary file).

    ``format``: "torch" (PyTorch's zip format, readable by ``torch.load``) or "safetensors";
    by default safetensors for a ``.safetensors`` file name, else torch. ``metadata`` (str to
    str) is stored in safetensors files only. Writing to a path is atomic: a crash never
    leaves a half-written file.
    """
    if format is None:
        named = not _is_file(f) and os.fspath(f)
        format = "safetensors" if named and str(named).endswith(".safetensors") else "torch"
    if format not in ("torch", "safetensors"):
        raise ValueError(f"nanotorch.save: format must be 'torch' or 'safetensors', got {format!r}")
    if metadata is not None:
        if format != "safetensors":
            raise ValueError(
                "nanotorch.save: metadata is stored in safetensors files only "
                "(pass format='safetensors')"
            )
        if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            raise TypeError("metadata must map str to str")
    if format == "safetensors":
        _save_safetensors(obj, f if _is_file(f) else os.fspath(f), metadata)
        return
    if _is_file(f):
        write_torch_zip(obj, f, _tensor_data)
    else:
        atomic_write(f, lambda fh: write_torch_zip(obj, fh, _tensor_data))


# ----------------------------------------------------------------------------- load


class _Structure:
    """Rebuilds a checkpoint from its JSON structure; every problem is a WeightFileError."""

    def __init__(self, tensors: dict, source: str):
        self.tensors = tensors
        self.source = source

    def fail(self, problem: str):
        raise WeightFileError(f"corrupt checkpoint structure: {problem}", self.source)

    def decode(self, node, depth: int = 0):
        if depth > _MAX_DEPTH:
            self.fail(f"nests deeper than {_MAX_DEPTH} levels")
        d = depth + 1
        if isinstance(node, list):
            return [self.decode(v, d) for v in node]
        if not isinstance(node, dict):
            return node
        if "__tensor__" in node:
            key = node["__tensor__"]
            if not isinstance(key, str) or key not in self.tensors:
                self.fail(f"names tensor {key!r:.80} that the file lacks")
            return Tensor._wrap(self.tensors[key])
        if "__tuple__" in node:
            items = node["__tuple__"]
            if not isinstance(items, list):
                self.fail(f"__tuple__ holds a {type(items).__name__}, not a list")
            return tuple(self.decode(v, d) for v in items)
        if "__dict__" in node:
            return self._dict(node["__dict__"], d)
        if "__float__" in node:
            text = node["__float__"]
            if text not in ("inf", "-inf", "nan"):
                self.fail(f"bad __float__ value {text!r:.40}")
            return float(text)
        return {k: self.decode(v, d) for k, v in node.items()}

    def _dict(self, pairs, depth: int) -> dict:
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 for p in pairs
        ):
            self.fail("__dict__ must be a list of [key, value] pairs")
        keys = [self.decode(k, depth) for k, _ in pairs]
        check_key_hashes(keys, self.fail)
        return {k: self.decode(v, depth) for k, (_, v) in zip(keys, pairs)}


def check_key_hashes(keys, fail: Callable[[str], Any]) -> None:
    """Refuse unhashable keys and keys crafted to share a hash (dict building would be
    quadratic: numbers such as ``i * (2**61 - 1)`` all hash alike)."""
    counts: dict[int, int] = {}
    for k in keys:
        try:
            h = hash(k)
        except TypeError:
            fail(f"dict key of type {type(k).__name__} is not hashable")
        counts[h] = counts.get(h, 0) + 1
        if counts[h] > _MAX_EQUAL_HASHES:
            fail(
                f"more than {_MAX_EQUAL_HASHES} dict keys share one hash value (duplicate "
                "or crafted keys)"
            )


def _source_name(f) -> str:
    if _is_file(f):
        name = getattr(f, "name", None)
        return name if isinstance(name, str) else "<file object>"
    return os.fspath(f)


def _check_load_args(map_location, weights_only) -> None:
    if weights_only is False:
        raise ValueError(
            "nanotorch.load(weights_only=False) is not supported: nanotorch never "
            "unpickles code; it reads tensors and plain containers only "
            "(weights_only=True, the default)"
        )
    if map_location is not None and str(map_location) != "cpu":
        raise ValueError(
            f"nanotorch.load: map_location must be 'cpu', torch.device('cpu') or "
            f"None (nanotorch runs on the CPU), got {map_location!r}"
        )


_HEAD = 64  # bytes read to tell the formats apart


def _file_kind(head: bytes) -> str:
    """'torch' or 'safetensors' from a file's first bytes."""
    if head[:4] == b"PK\x03\x04":
        return "torch"
    if head[8:].lstrip(b" \t\r\n")[:1] == b"{":
        # A JSON header (it may start with white space) after the 8-byte length: safetensors,
        # whatever the length field says (its low byte may be 0x80, a pickle's first byte).
        return "safetensors"
    if head[:1] == b"\x80":
        return "torch"  # a pickle: the legacy torch format, or the torch reader says what it is
    return "safetensors"  # let the safetensors reader say what is wrong


def _open_source(f) -> tuple[IO[bytes] | None, bytes]:
    """For a file object, a seekable binary stream at its start; and the file's first bytes."""
    if not _is_file(f):
        with open(os.fspath(f), "rb") as fh:
            return None, fh.read(_HEAD)
    if not hasattr(f, "read"):
        raise TypeError(f"nanotorch.load: {type(f).__name__} is not readable")
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())
    start = f.tell()
    head = f.read(_HEAD)
    if not isinstance(head, bytes):
        raise TypeError("nanotorch.load: the file object must be opened in binary mode ('rb')")
    f.seek(start)
    return f, head


def load(f, map_location=None, weights_only: bool | None = True, mmap=None):
    """Load what ``save`` (or ``torch.save``) wrote from a path or a binary file object.

    Nothing is ever unpickled beyond tensors and plain containers (dict, list, tuple,
    OrderedDict, set, numbers, strings); other globals raise ``UnsafePickleError`` unless
    allowed with ``add_safe_globals``. Every malformed file raises ``WeightFileError``.
    ``mmap=True`` maps a safetensors file's tensors copy-on-write instead of reading them.
    """
    _check_load_args(map_location, weights_only)
    stream, head = _open_source(f)
    source = stream if stream is not None else os.fspath(f)
    if _file_kind(head) == "torch":
        if mmap:
            raise ValueError("nanotorch.load: mmap=True is supported for safetensors files; "
                             "this is a PyTorch file (convert it with nanotorch convert)")
        obj, is_tensor = load_torch_objects(source)
        return _Tensors(is_tensor, _source_name(f)).convert(obj)
    if mmap and stream is not None:
        raise ValueError("nanotorch.load: mmap=True needs a file name, not a file object")
    arrays, meta = load_arrays(source, mmap=bool(mmap))
    if STRUCTURE_KEY in meta:
        name = _source_name(f)
        try:
            structure = json.loads(meta[STRUCTURE_KEY])
        except (ValueError, RecursionError) as e:
            raise WeightFileError(f"corrupt checkpoint structure: {str(e)[:200]}", name) from None
        return _Structure(arrays, name).decode(structure)
    return {k: Tensor._wrap(v) for k, v in arrays.items()}


def load_metadata(f) -> dict:
    """The string metadata of a safetensors file (without nanotorch's own entries)."""
    _, meta = load_arrays(f if _is_file(f) else os.fspath(f))
    meta.pop(STRUCTURE_KEY, None)
    return meta


class _Tensors:
    """Turns the arrays a torch file's tensors were rebuilt as into Tensors, visiting each
    shared object once (a pickle can reference one list from many places: without the memo a
    small file could take exponential time) and bounding the nesting."""

    def __init__(self, is_tensor: Callable[[np.ndarray], bool], source: str):
        self.is_tensor = is_tensor
        self.source = source
        self.memo: dict[int, tuple[object, object]] = {}

    def convert(self, obj, depth: int = 0):
        if isinstance(obj, np.ndarray):
            return Tensor._wrap(obj) if self.is_tensor(obj) else obj
        if not isinstance(obj, (dict, list, tuple)):
            return obj
        if depth > _MAX_DEPTH:
            raise WeightFileError(f"objects nest deeper than {_MAX_DEPTH} levels", self.source)
        done = self.memo.get(id(obj))
        if done is not None and done[0] is obj:
            return done[1]
        if isinstance(obj, dict):
            out = type(obj)((k, self.convert(v, depth + 1)) for k, v in obj.items())
        else:
            out = type(obj)(self.convert(v, depth + 1) for v in obj)
        self.memo[id(obj)] = (obj, out)
        return out


def load_state_dict_file(path, prefix_strip: str | None = None) -> dict:
    """A flat ``{name: Tensor}`` state dict from a safetensors or PyTorch weight file,
    unwrapping common checkpoint layouts (``state_dict``, ``model``...) and optionally
    stripping a key prefix such as ``module.``."""
    path = os.fspath(path)
    _, head = _open_source(path)
    if _file_kind(head) == "torch":
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
        flat = {
            k[len(prefix_strip) :] if k.startswith(prefix_strip) else k: v for k, v in flat.items()
        }
    return flat


def _flatten(obj, prefix, out, path, depth=0):
    if depth > _MAX_DEPTH:
        raise WeightFileError(f"state dict nests deeper than {_MAX_DEPTH} levels", path)
    if isinstance(obj, Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out, path, depth + 1)
    else:
        raise WeightFileError(
            f"'{prefix}' holds a {type(obj).__name__}, not a tensor: this file is not a state dict",
            path,
        )
