"""Read and write safetensors files as dicts of NumPy arrays.

Format: 8-byte little-endian header length N, N bytes of JSON header, raw data.
Written directly here (not via ``safetensors.numpy``) because that reader has
no BF16 support and we validate every header field ourselves anyway; the files
are byte-compatible with the safetensors library (checked in the tests).
"""

from __future__ import annotations

import json
import os
import struct
from typing import IO

import numpy as np

from .atomic import atomic_write
from .errors import WeightFileError

__all__ = ["save_arrays", "load_arrays"]

# safetensors dtype tag -> little-endian NumPy dtype of the raw bytes.
_TAG_TO_DTYPE = {
    "BOOL": np.dtype("?"),
    "U8": np.dtype("u1"),
    "I8": np.dtype("i1"),
    "I16": np.dtype("<i2"),
    "U16": np.dtype("<u2"),
    "I32": np.dtype("<i4"),
    "U32": np.dtype("<u4"),
    "I64": np.dtype("<i8"),
    "U64": np.dtype("<u8"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # converted to float32 on load
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}
_KIND_TO_TAG = {
    ("b", 1): "BOOL", ("u", 1): "U8", ("i", 1): "I8", ("i", 2): "I16", ("u", 2): "U16",
    ("i", 4): "I32", ("u", 4): "U32", ("i", 8): "I64", ("u", 8): "U64",
    ("f", 2): "F16", ("f", 4): "F32", ("f", 8): "F64",
}
_MAX_HEADER = 100_000_000  # same limit as the safetensors library
_META_KEY = "__metadata__"


# ----------------------------------------------------------------------------- save

def _tag_for(name: str, arr: object) -> str:
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"save_arrays: value for {name!r} must be a numpy.ndarray, got {type(arr).__name__}")
    tag = _KIND_TO_TAG.get((arr.dtype.kind, arr.dtype.itemsize))
    if tag is None:
        raise TypeError(
            f"save_arrays: array {name!r} has dtype {arr.dtype}, which safetensors cannot store "
            f"(supported: bool, int8-64, uint8-64, float16, float32, float64)"
        )
    return tag


def save_arrays(
    arrays: dict[str, np.ndarray],
    path: str | os.PathLike,
    metadata: dict[str, str] | None = None,
) -> None:
    """Atomically write ``arrays`` (name -> ndarray) and optional str metadata to ``path``."""
    if not isinstance(arrays, dict):
        raise TypeError(f"save_arrays: arrays must be a dict of str -> ndarray, got {type(arrays).__name__}")
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            raise TypeError("save_arrays: metadata must be a dict of str -> str")
    tags = {}
    for name, arr in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"save_arrays: array names must be str, got {name!r}")
        if name == _META_KEY:
            raise ValueError(f"save_arrays: {_META_KEY!r} is reserved and cannot be an array name")
        tags[name] = _tag_for(name, arr)

    # Largest items first so every tensor starts at a multiple of its itemsize.
    order = sorted(arrays, key=lambda n: (-arrays[n].dtype.itemsize, n))
    spans, offset = {}, 0
    for name in order:
        nbytes = arrays[name].size * arrays[name].dtype.itemsize
        spans[name] = [offset, offset + nbytes]
        offset += nbytes
    # Header lists tensors in the caller's order, so loading gives that order back.
    header: dict = {_META_KEY: dict(metadata)} if metadata else {}
    for name, arr in arrays.items():
        header[name] = {"dtype": tags[name], "shape": list(arr.shape), "data_offsets": spans[name]}
    blob = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    blob += b" " * (-(8 + len(blob)) % 8)

    def write(f: IO[bytes]) -> None:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name in order:
            arr = arrays[name]
            le = np.ascontiguousarray(arr, dtype=_TAG_TO_DTYPE[tags[name]])
            if le.size:
                f.write(le.reshape(-1).view(np.uint8).data)

    atomic_write(path, write)


# ----------------------------------------------------------------------------- load

def _no_duplicates(pairs: list) -> dict:
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _reject_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _parse_header(raw: bytes, data_len: int, fail) -> tuple[dict, list]:
    """Validate the JSON header; return (metadata, [(name, tag, shape, begin, end)]).

    Entries keep the header's order.
    """
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates,
                            parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        fail(f"header is not valid JSON ({e})")
    if not isinstance(header, dict):
        fail(f"header must be a JSON object, got {type(header).__name__}")
    metadata = header.pop(_META_KEY, None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        fail(f"{_META_KEY} must be an object of str -> str, got {type(metadata).__name__}")
    for k, v in metadata.items():
        if not isinstance(v, str):
            fail(f"metadata value for {k!r} must be a string, got {type(v).__name__}")
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict):
            fail(f"entry for tensor {name!r} must be an object, got {type(info).__name__}")
        tag, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if tag not in _TAG_TO_DTYPE:
            fail(f"tensor {name!r} has unsupported dtype {tag!r} (known: {', '.join(_TAG_TO_DTYPE)})")
        if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
            fail(f"tensor {name!r} has invalid shape {shape!r}")
        if (not isinstance(offs, list) or len(offs) != 2 or not all(_is_int(o) for o in offs)
                or not 0 <= offs[0] <= offs[1]):
            fail(f"tensor {name!r} has invalid data_offsets {offs!r}")
        begin, end = offs
        if end > data_len:
            fail(f"tensor {name!r} data_offsets {offs} run past the data section ({data_len} bytes)")
        numel = 1
        for d in shape:
            numel *= d
        expect = numel * _TAG_TO_DTYPE[tag].itemsize
        if end - begin != expect:
            fail(f"tensor {name!r} ({tag}, shape {shape}) needs {expect} bytes "
                 f"but data_offsets {offs} span {end - begin}")
        entries.append((name, tag, tuple(shape), begin, end))
    pos = 0
    for name, _, _, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin < pos:
            fail(f"tensor {name!r} data_offsets [{begin}, {end}] overlap the previous tensor")
        if begin > pos:
            fail(f"gap of {begin - pos} unused bytes before tensor {name!r}")
        pos = end
    if pos != data_len:
        fail(f"{data_len - pos} trailing bytes after the last tensor (file not fully covered)")
    return metadata, entries


def _read_array(f: IO[bytes], tag: str, shape: tuple, fail, name: str) -> np.ndarray:
    raw_dtype = _TAG_TO_DTYPE[tag]
    arr = np.empty(shape, dtype=raw_dtype)
    if arr.size:
        flat = arr.reshape(-1).view(np.uint8)
        got = f.readinto(flat)
        if got != flat.size:
            fail(f"file ended inside tensor {name!r} (read {got} of {flat.size} bytes)")
    if tag == "BF16":  # bfloat16 is the top half of a float32
        out = np.empty(shape, np.float32)
        bits = out.view(np.uint32)
        bits[...] = arr
        bits <<= 16
        return out
    if tag == "BOOL":
        u8 = arr.view(np.uint8)
        if (u8 > 1).any():  # normalise stray byte values to proper bools
            arr = u8 != 0
        return arr
    if not arr.dtype.isnative:  # big-endian host
        arr = arr.astype(raw_dtype.newbyteorder("="))
    return arr


def load_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file; return (name -> writable owned ndarray, metadata).

    BF16 tensors come back as float32. Any malformed file raises WeightFileError.
    """
    spath = os.fspath(path)

    def fail(problem: str):
        raise WeightFileError(problem, spath)

    with open(spath, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        if len(head) < 8:
            fail(f"file is {size} bytes, too short for the 8-byte safetensors header length")
        (n,) = struct.unpack("<Q", head)
        if n > size - 8:
            fail(f"header length {n} runs past the end of the file ({size} bytes)")
        if n > _MAX_HEADER:
            fail(f"header length {n} exceeds the {_MAX_HEADER}-byte limit")
        raw = f.read(n)
        if len(raw) != n:
            fail(f"file ended inside the header (read {len(raw)} of {n} bytes)")
        metadata, entries = _parse_header(raw, size - 8 - n, fail)
        arrays = {}
        try:
            for name, tag, shape, _, _ in sorted(entries, key=lambda e: e[3]):
                arrays[name] = _read_array(f, tag, shape, fail, name)
        except MemoryError:
            fail("not enough memory to load the tensors")
        if f.read(1):
            fail("file grew while it was being read")
    return {e[0]: arrays[e[0]] for e in entries}, dict(metadata)
