"""Write PyTorch's zip checkpoint format (what ``torch.save`` writes), without torch.

The archive holds ``archive/data.pkl`` (a protocol-2 pickle whose tensors refer to storages
through persistent ids), one ``archive/data/<key>`` record of raw little-endian bytes per
storage, and the small ``version``/``byteorder``/format records ``torch.load`` expects. The
pickle is produced by a minimal writer that knows only tensors, None, bools, ints, floats,
strings, lists, tuples, dicts and OrderedDicts, so what it writes loads under
``torch.load(weights_only=True)`` and under nanotorch's restricted reader.
"""

from __future__ import annotations

import ctypes
import secrets
import struct
import sys
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from .. import _bfloat16

__all__ = ["TensorData", "write_torch_zip"]

# NumPy dtype -> torch's legacy storage class (names the element type in the persistent id).
_STORAGE_CLASS = {
    np.dtype("bool"): "BoolStorage",
    np.dtype("uint8"): "ByteStorage",
    np.dtype("int8"): "CharStorage",
    np.dtype("int16"): "ShortStorage",
    np.dtype("int32"): "IntStorage",
    np.dtype("int64"): "LongStorage",
    np.dtype("float16"): "HalfStorage",
    np.dtype("float32"): "FloatStorage",
    np.dtype("float64"): "DoubleStorage",
    _bfloat16.NP_DTYPE: "BFloat16Storage",  # the bits, as torch stores them
}
_ALIGN = 64  # torch aligns each storage record's data to 64 bytes (lets readers mmap it)
_MAX_DEPTH = 200
_BATCH = 1000  # items per APPENDS/SETITEMS, as pickle does


@dataclass(frozen=True)
class TensorData:
    """A tensor to write: its values and the flags torch keeps."""

    array: np.ndarray
    requires_grad: bool = False
    is_parameter: bool = False


def _root(arr: np.ndarray) -> np.ndarray:
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


class _Storages:
    """Assigns each tensor a storage key, offset and strides (in elements).

    Views of one NumPy buffer share a storage (as they do in torch) when the saved views cover
    it densely; otherwise each view is written as its own contiguous storage.
    """

    def __init__(self, arrays: list[np.ndarray]):
        groups: dict[int, list[np.ndarray]] = {}
        for a in arrays:
            if self._shareable(a):
                groups.setdefault(id(_root(a)), []).append(a)
        self.spans: dict[int, tuple[int, int]] = {}  # root id -> (first byte, end byte) address
        for rid, views in groups.items():
            lo = min(v.ctypes.data for v in views)
            hi = max(v.ctypes.data + self._extent(v) for v in views)
            item = views[0].dtype.itemsize
            if hi - lo <= 2 * sum(v.nbytes for v in views) and all(
                (v.ctypes.data - lo) % item == 0 for v in views
            ):
                self.spans[rid] = (lo, hi)
        self.keys: dict[int, str] = {}
        self.records: list[tuple[str, np.ndarray, int]] = []  # (key, uint8 bytes, numel)

    @staticmethod
    def _shareable(a: np.ndarray) -> bool:
        root = _root(a)
        item = a.dtype.itemsize
        return (
            a.size > 0
            and root.dtype == a.dtype
            and a.dtype.isnative
            and all(s >= 0 and s % item == 0 for s in a.strides)
        )

    @staticmethod
    def _extent(a: np.ndarray) -> int:
        return sum((d - 1) * s for d, s in zip(a.shape, a.strides)) + a.dtype.itemsize

    def place(self, a: np.ndarray) -> tuple[str, int, int, tuple]:
        """(storage key, storage numel, offset, stride) for ``a``; queues the storage's bytes."""
        item = a.dtype.itemsize
        rid = id(_root(a))
        if a.size and rid in self.spans and self._shareable(a):
            lo, hi = self.spans[rid]
            if rid not in self.keys:
                self.keys[rid] = str(len(self.records))
                buf = (ctypes.c_uint8 * (hi - lo)).from_address(lo)  # the root keeps it alive
                self.records.append((self.keys[rid], np.ctypeslib.as_array(buf), (hi - lo) // item))
            key = self.keys[rid]
            numel = self.records[int(key)][2]
            return key, numel, (a.ctypes.data - lo) // item, tuple(s // item for s in a.strides)
        data = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).reshape(a.shape)
        key = str(len(self.records))
        self.records.append((key, data.reshape(-1).view(np.uint8), a.size))
        strides, step = [], 1
        for d in reversed(a.shape):
            strides.append(step)
            step *= max(d, 1)
        return key, a.size, 0, tuple(reversed(strides))


class _Pickler:
    """Protocol-2 pickle of plain data and tensors; refuses everything else."""

    def __init__(self, as_tensor: Callable[[Any], TensorData | None], storages: _Storages):
        self.as_tensor = as_tensor
        self.storages = storages
        self.out = bytearray(b"\x80\x02")
        self.active: set[int] = set()  # containers being written (cycle detection)

    # -- scalars ---------------------------------------------------------------
    def _int(self, v: int) -> None:
        if 0 <= v < 256:
            self.out += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.out += b"M" + struct.pack("<H", v)
        elif -(2**31) <= v < 2**31:
            self.out += b"J" + struct.pack("<i", v)
        else:
            raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            if len(raw) < 256:
                self.out += b"\x8a" + bytes([len(raw)]) + raw
            else:
                self.out += b"\x8b" + struct.pack("<i", len(raw)) + raw

    def _str(self, s: str) -> None:
        raw = s.encode("utf-8", "surrogatepass")
        self.out += b"X" + struct.pack("<I", len(raw)) + raw

    def _global(self, module: str, name: str) -> None:
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    # -- containers ------------------------------------------------------------
    def _items(self, items, opcode: bytes, path: str, depth: int, pairs: bool) -> None:
        items = list(items)
        for start in range(0, len(items), _BATCH):
            self.out += b"("
            for item in items[start : start + _BATCH]:
                if pairs:
                    self.dump(item[0], f"{path}.<key>", depth)
                    self.dump(item[1], f"{path}.{item[0]}", depth)
                else:
                    self.dump(item[1], f"{path}.{item[0]}", depth)
            self.out += opcode

    def _tensor(self, t: TensorData, storages: _Storages, path: str) -> None:
        a = t.array
        cls = _STORAGE_CLASS.get(np.dtype(a.dtype).newbyteorder("="))
        if cls is None:
            raise TypeError(
                f"cannot save the array at '{path}' in PyTorch's format: dtype "
                f"{a.dtype} has no torch storage type"
            )
        key, numel, offset, stride = storages.place(a)
        if t.is_parameter:
            self._global("torch._utils", "_rebuild_parameter")
            self.out += b"("
        self._global("torch._utils", "_rebuild_tensor_v2")
        self.out += b"(("
        self._str("storage")
        self._global("torch", cls)
        self._str(key)
        self._str("cpu")
        self._int(numel)
        self.out += b"tQ"  # the persistent id tuple, then BINPERSID
        self._int(offset)
        self.dump(tuple(int(d) for d in a.shape), path, 0)
        self.dump(tuple(int(s) for s in stride), path, 0)
        self.out += b"\x88" if t.requires_grad and not t.is_parameter else b"\x89"
        self._global("collections", "OrderedDict")
        self.out += b")RtR"  # OrderedDict() as backward_hooks; call _rebuild_tensor_v2
        if t.is_parameter:
            self.out += b"\x88" if t.requires_grad else b"\x89"
            self._global("collections", "OrderedDict")
            self.out += b")RtR"

    def dump(self, obj: Any, path: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise ValueError(
                f"cannot save: containers nest deeper than {_MAX_DEPTH} levels at '{path}'"
            )
        if obj is None:
            self.out += b"N"
        elif obj is True or obj is False or isinstance(obj, np.bool_):
            self.out += b"\x88" if obj else b"\x89"
        elif isinstance(obj, (int, np.integer)):
            self._int(int(obj))
        elif isinstance(obj, (float, np.floating)):
            self.out += b"G" + struct.pack(">d", float(obj))
        elif isinstance(obj, str):
            self._str(obj)
        elif isinstance(obj, (list, tuple, dict)):
            if id(obj) in self.active:
                raise ValueError(f"cannot save a container that contains itself (at '{path}')")
            self.active.add(id(obj))
            self._container(obj, path, depth + 1)
            self.active.discard(id(obj))
        else:
            t = obj if isinstance(obj, TensorData) else self.as_tensor(obj)
            if t is None:
                raise TypeError(
                    f"cannot save a {type(obj).__name__} (at '{path}'): only tensors, numbers, "
                    "strings, bools, None, lists, tuples, dicts and OrderedDicts"
                )
            self._tensor(t, self.storages, path)

    def _container(self, obj, path: str, depth: int) -> None:
        if isinstance(obj, tuple):
            if not obj:
                self.out += b")"
            elif len(obj) <= 3:
                for i, v in enumerate(obj):
                    self.dump(v, f"{path}.{i}", depth)
                self.out += b"\x85\x86\x87"[len(obj) - 1 : len(obj)]
            else:
                self.out += b"("
                for i, v in enumerate(obj):
                    self.dump(v, f"{path}.{i}", depth)
                self.out += b"t"
        elif isinstance(obj, list):
            self.out += b"]"
            self._items(enumerate(obj), b"e", path, depth, pairs=False)
        else:
            if type(obj) is OrderedDict:
                self._global("collections", "OrderedDict")
                self.out += b")R"
            elif type(obj) is not dict:
                raise TypeError(
                    f"cannot save a {type(obj).__name__} (at '{path}'): only plain "
                    "dicts and OrderedDicts"
                )
            else:
                self.out += b"}"
            self._items(obj.items(), b"u", path, depth, pairs=True)


def _collect(obj: Any, as_tensor, out: list, depth: int = 0) -> None:
    """The arrays of every tensor in ``obj`` (to plan shared storages)."""
    if depth > _MAX_DEPTH or obj is None or isinstance(obj, (str, int, float)):
        return
    if isinstance(obj, dict):
        for v in obj.values():
            _collect(v, as_tensor, out, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect(v, as_tensor, out, depth + 1)
    else:
        t = obj if isinstance(obj, TensorData) else as_tensor(obj)
        if t is not None:
            out.append(t.array)


def _aligned_info(zf: zipfile.ZipFile, name: str, nbytes: int, align: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = nbytes
    if align:
        start = zf.fp.tell() + 30 + len(name.encode())
        if nbytes > zipfile.ZIP64_LIMIT:
            start += 20  # zip64 extra field
        pad = -(start + 4) % _ALIGN
        info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # "FB": torch's padding id
    return info


def _write_record(zf: zipfile.ZipFile, name: str, data, align: bool = False) -> None:
    view = memoryview(data).cast("B")
    info = _aligned_info(zf, name, view.nbytes, align)
    with zf.open(info, "w", force_zip64=view.nbytes > zipfile.ZIP64_LIMIT) as w:
        for start in range(0, view.nbytes, 1 << 26):
            w.write(view[start : start + (1 << 26)])


def write_torch_zip(
    obj: Any, f: IO[bytes], as_tensor: Callable[[Any], TensorData | None] = lambda o: None
) -> None:
    """Write ``obj`` to the binary file object ``f`` in torch.save's zip format.

    Tensors are ``TensorData`` or anything ``as_tensor`` turns into one (it returns None for
    other objects). Raises TypeError for objects that cannot be stored.
    """
    if sys.byteorder != "little":
        raise NotImplementedError("writing PyTorch files on a big-endian machine")
    arrays: list[np.ndarray] = []
    _collect(obj, as_tensor, arrays)
    pickler = _Pickler(as_tensor, _Storages(arrays))
    pickler.dump(obj, "", 0)
    pickler.out += b"."
    prefix = "archive/"
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
        _write_record(zf, prefix + "data.pkl", pickler.out)
        _write_record(zf, prefix + ".format_version", b"1")
        _write_record(zf, prefix + ".storage_alignment", str(_ALIGN).encode())
        _write_record(zf, prefix + "byteorder", b"little")
        for key, data, _ in pickler.storages.records:
            _write_record(zf, f"{prefix}data/{key}", data, align=True)
        _write_record(zf, prefix + "version", b"3\n")
        _write_record(
            zf, prefix + ".data/serialization_id", str(secrets.randbelow(10**40)).zfill(40).encode()
        )
