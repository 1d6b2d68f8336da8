"""Read PyTorch ``.pt``/``.pth`` files into NumPy without torch and without running pickled code.

The unpickler resolves globals only from an explicit allow-list that maps them
to the small safe functions below; any other global raises UnsafePickleError
before it is imported. Both layouts written by ``torch.save`` are supported:

* zip (torch >= 1.6): ``<dir>/data.pkl`` plus one ``<dir>/data/<key>`` record per storage;
* legacy: pickled magic number, protocol version and sys info, the main pickle,
  a pickled list of storage keys, then per storage an int64 element count and its bytes.

Tensors come back as C-contiguous, writable NumPy arrays that own their data
(views of a shared storage become independent copies); bfloat16 becomes float32.
"""

from __future__ import annotations

import _compat_pickle
import io
import os
import pickle
import struct
import zipfile
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from .errors import UnsafePickleError, WeightFileError

__all__ = [
    "load_torch_file",
    "load_torch_objects",
    "torch_file_to_arrays",
    "add_safe_globals",
    "get_safe_globals",
]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_CHUNK = 1 << 24
_MAX_DEPTH = 64
_MAX_EQUAL_HASHES = 8  # keys of one dict/set sharing a hash: more means a crafted file
_MAX_KEY_DEPTH = 32  # nesting of a tuple used as a key (C hashes it recursively)

# Extra globals the user allowed with add_safe_globals ("module.name" -> object).
_USER_GLOBALS: dict[str, Any] = {}


def _global_names(obj: Any) -> list[str]:
    name = f"{obj.__module__}.{obj.__qualname__}"
    if obj.__module__.startswith("numpy._core"):  # NumPy 1.x pickles say numpy.core
        return [name, name.replace("numpy._core", "numpy.core", 1)]
    return [name]


def add_safe_globals(safe_globals: list) -> None:
    """Allow these globals in pickled weight files, as ``torch.serialization.add_safe_globals``.

    Items are functions/classes, or ``(object, "module.name")`` pairs. For NumPy arrays:
    ``add_safe_globals([np._core.multiarray._reconstruct, np.ndarray, np.dtype])`` plus the
    array's dtype class (e.g. ``type(np.dtype(np.float32))``).
    """
    if not isinstance(safe_globals, (list, tuple)):
        raise TypeError(f"add_safe_globals expects a list, got {type(safe_globals).__name__}")
    for item in safe_globals:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], str):
            _USER_GLOBALS[item[1]] = item[0]
        elif hasattr(item, "__module__") and hasattr(item, "__qualname__"):
            for name in _global_names(item):
                _USER_GLOBALS[name] = item
        else:
            raise TypeError(
                f"add_safe_globals: {item!r:.60} is not a function, a class or an "
                "(object, 'module.name') pair"
            )


def get_safe_globals() -> list:
    """The globals allowed with add_safe_globals, as (object, "module.name") pairs."""
    return [(obj, name) for name, obj in _USER_GLOBALS.items()]


# torch dtype name -> (little-endian raw dtype in the file, legacy storage class name)
_DTYPE_TABLE = {
    "float64": ("<f8", "DoubleStorage"),
    "float32": ("<f4", "FloatStorage"),
    "float16": ("<f2", "HalfStorage"),
    "bfloat16": ("<u2", "BFloat16Storage"),  # converted to float32
    "int64": ("<i8", "LongStorage"),
    "int32": ("<i4", "IntStorage"),
    "int16": ("<i2", "ShortStorage"),
    "int8": ("i1", "CharStorage"),
    "uint8": ("u1", "ByteStorage"),
    "bool": ("?", "BoolStorage"),
    "complex64": ("<c8", "ComplexFloatStorage"),
    "complex128": ("<c16", "ComplexDoubleStorage"),
    "uint16": ("<u2", None),
    "uint32": ("<u4", None),
    "uint64": ("<u8", None),
}


class _Frozen:
    """Base for marker objects: pickle BUILD/setattr cannot alter them."""

    __slots__ = ()

    def __setattr__(self, name, value):
        raise WeightFileError(f"pickle tried to set attribute {name!r} on {self!r}")

    def __setstate__(self, state):
        raise WeightFileError(f"pickle tried to set the state of {self!r}")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


class _DType(_Frozen):
    """Stands in for a torch dtype such as ``torch.float32``."""

    __slots__ = ("name", "raw")

    def __init__(self, name: str, raw: str):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "raw", np.dtype(raw))

    def __repr__(self):
        return f"torch.{self.name}"


class _StorageType(_Frozen):
    """Stands in for a storage class such as ``torch.FloatStorage``."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: _DType):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "dtype", dtype)

    def __repr__(self):
        return f"torch.{self.name}"


class _TensorType(_Frozen):
    """Stands in for ``torch.Tensor`` / ``torch.nn.Parameter`` (used by _rebuild_from_type_v2)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        object.__setattr__(self, "name", name)

    def __repr__(self):
        return self.name


class _Callable(_Frozen):
    """An allow-listed global: our safe stand-in, which pickle can call but not modify."""

    __slots__ = ("name", "fn")

    def __init__(self, name: str, fn: Callable):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "fn", fn)

    def __call__(self, *args):
        return self.fn(*args)

    def __repr__(self):
        return self.name


class _Storage(_Frozen):
    """A loaded storage: its raw bytes as a uint8 array (None in a dry pass).

    ``order`` is the byte order of the data in the file, "<" or ">".
    """

    __slots__ = ("dtype", "data", "order", "taken")

    def __init__(self, dtype: _DType, data: np.ndarray | None, order: str = "<"):
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "order", order)
        object.__setattr__(self, "taken", False)  # data handed out as a tensor

    def __repr__(self):
        return f"<storage {self.dtype!r}>"


def _storage_view(
    storage: _Storage, dtype: _DType, fmt: np.dtype, size: tuple, stride: tuple, offset: int
) -> np.ndarray | None:
    """The storage buffer itself as the tensor, when the tensor is exactly all of it.

    Only the first such tensor gets it (later ones copy), so results never alias.
    """
    if storage.taken or offset or not fmt.isnative or dtype.name in ("bool", "bfloat16"):
        return None
    expect = 1
    for d, s in zip(reversed(size), reversed(stride)):
        if d != 1 and s != expect:
            return None
        expect *= d
    if expect * fmt.itemsize != storage.data.size or not storage.data.flags.writeable:
        return None
    object.__setattr__(storage, "taken", True)
    return storage.data.view(fmt).reshape(size)


_DTYPES = {name: _DType(name, raw) for name, (raw, _) in _DTYPE_TABLE.items()}
_STORAGE_TYPES = {
    st: _StorageType(st, _DTYPES[name]) for name, (_, st) in _DTYPE_TABLE.items() if st
}
_STORAGE_TYPES["UntypedStorage"] = _StorageType("UntypedStorage", _DTYPES["uint8"])
_TENSOR = _TensorType("torch.Tensor")
_PARAMETER = _TensorType("torch.nn.Parameter")


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _to_native(arr: np.ndarray, dtype: _DType) -> np.ndarray:
    """Turn a freshly copied array in file byte order into the array we hand out."""
    if dtype.name == "bfloat16":
        out = np.empty(arr.shape, np.float32)
        bits = out.view(np.uint32)
        bits[...] = arr.astype(np.uint16)  # astype also fixes the byte order
        bits <<= 16
        return out
    if dtype.name == "bool":
        u8 = arr.view(np.uint8)
        return (u8 != 0) if (u8 > 1).any() else arr
    if not arr.dtype.isnative:
        return arr.astype(arr.dtype.newbyteorder("="))
    return arr


def _read_into(stream: IO[bytes], buf: np.ndarray) -> int:
    """Fill the uint8 array ``buf`` from ``stream``; return the bytes actually read."""
    view, done = memoryview(buf), 0
    while done < buf.size:
        chunk = stream.read(min(_CHUNK, buf.size - done))
        if not chunk:
            break
        view[done : done + len(chunk)] = chunk
        done += len(chunk)
    return done


class _Loader:
    """Per-file state: error context, memory budget, and the allowed globals."""

    def __init__(self, path: str, file_size: int):
        self.path = path
        # Bounds what a small hostile file can make us allocate (zip bombs,
        # stride-0 tensors of absurd size); far above what real checkpoints need.
        self.budget = 8 * file_size + (1 << 30)
        fns = {
            "builtins.bytearray": self._bytearray,
            "_codecs.encode": self._encode,
            "torch.Size": self._size,
            "torch._utils._rebuild_tensor": self._rebuild_tensor,
            "torch._utils._rebuild_tensor_v2": self._rebuild_tensor_v2,
            "torch._utils._rebuild_tensor_v3": self._rebuild_tensor_v3,
            "torch._utils._rebuild_parameter": self._rebuild_parameter,
            "torch._utils._rebuild_parameter_with_state": self._rebuild_parameter_with_state,
            "torch._tensor._rebuild_from_type_v2": self._rebuild_from_type_v2,
        }
        self.globals: dict[str, Any] = {name: _Callable(name, fn) for name, fn in fns.items()}
        self.globals.update(
            {
                "collections.OrderedDict": OrderedDict,
                "collections.Counter": Counter,
                "builtins.set": _Callable("builtins.set", self._set),
                "builtins.frozenset": _Callable("builtins.frozenset", self._frozenset),
                "torch.device": _Callable("torch.device", self._device),
                "builtins.complex": complex,
                "builtins.slice": slice,
                "torch.Tensor": _TENSOR,
                "torch.nn.parameter.Parameter": _PARAMETER,
                "torch.storage.UntypedStorage": _STORAGE_TYPES["UntypedStorage"],
            }
        )
        self.globals.update({f"torch.{n}": d for n, d in _DTYPES.items()})
        self.globals.update({f"torch.{n}": s for n, s in _STORAGE_TYPES.items()})
        self.globals.update(_USER_GLOBALS)
        self._tensor_fns = tuple(
            self.globals[f"torch._utils._rebuild_tensor{v}"] for v in ("", "_v2", "_v3")
        )
        self.made: dict[int, np.ndarray] = {}  # id -> each array rebuilt from a torch tensor
        self.key_tallies: dict[int, tuple[object, dict]] = {}  # container id -> hash counts
        self.key_budget = 8 * file_size + (1 << 20)  # key elements hashed, over the whole file

    # -- errors and budget ---------------------------------------------------
    def fail(self, problem: str):
        raise WeightFileError(problem, self.path)

    def spend(self, nbytes: int, what: str) -> None:
        if nbytes > self.budget:
            self.fail(f"{what} needs {nbytes} bytes, more than a file this size can plausibly hold")
        self.budget -= nbytes

    def resolve(self, module: object, name: object) -> Any:
        if not isinstance(module, str) or not isinstance(name, str):
            self.fail(f"pickle global has non-string name {module!r}.{name!r}")
        # Python 2 names, mapped as pickle's fix_imports would (nothing is imported).
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        full = f"{module}.{name}"
        if full not in self.globals:
            raise UnsafePickleError(full, self.path)
        return self.globals[full]

    # -- plain containers ----------------------------------------------------
    def check_keys(self, container: object, keys) -> None:
        """Refuse keys that would make building ``container`` slower than linear: too deep,
        too big in total, or many sharing one hash (e.g. ints ``i * (2**61 - 1)``)."""
        entry = self.key_tallies.get(id(container))
        if entry is None or entry[0] is not container:
            entry = self.key_tallies[id(container)] = (container, {})
        tally = entry[1]
        for key in keys:
            if type(key) is not str or len(key) > 64:  # (short strings: the common case)
                self._check_key_size(key)
            try:
                h = hash(key)
            except TypeError:
                self.fail(f"dict key or set item of type {type(key).__name__} is not hashable")
            tally[h] = tally.get(h, 0) + 1
            if tally[h] > _MAX_EQUAL_HASHES:
                self.fail(
                    f"more than {_MAX_EQUAL_HASHES} keys of one dict or set share a hash "
                    "value (duplicate or crafted keys)"
                )

    def _check_key_size(self, key: object) -> None:
        todo = [(key, 0)]
        while todo:
            item, depth = todo.pop()
            self.key_budget -= 1
            if self.key_budget < 0:
                self.fail("dict keys or set items are too large for a file this size")
            if isinstance(item, (tuple, frozenset)):
                if depth >= _MAX_KEY_DEPTH:
                    self.fail(f"a dict key or set item nests deeper than {_MAX_KEY_DEPTH} levels")
                todo.extend((x, depth + 1) for x in item)
            elif isinstance(item, (int, bytes, str)) and not isinstance(item, bool):
                self.key_budget -= (
                    len(item) if not isinstance(item, int) else item.bit_length()
                ) // 64

    def _set(self, items: object = ()) -> set:
        items = self._iterable(items, "set")
        out: set = set()
        self.check_keys(out, items)
        out.update(items)
        return out

    def _frozenset(self, items: object = ()) -> frozenset:
        items = self._iterable(items, "frozenset")
        self.check_keys(object(), items)
        return frozenset(items)

    def _iterable(self, items: object, what: str) -> list:
        if not isinstance(items, (list, tuple, set, frozenset)):
            self.fail(f"{what}() only allowed from a list or tuple, got {type(items).__name__}")
        return list(items)

    def _device(self, kind: object = "cpu", index: object = None) -> str:
        if kind != "cpu" or index not in (None, 0):
            self.fail(
                f"tensors on device {kind!r:.20} (index {index!r:.10}): nanotorch loads "
                "CPU files only"
            )
        return "cpu"

    def _encode(self, text: object, encoding: object = "latin1") -> bytes:
        # Protocol-2 pickles spell bytes as _codecs.encode(str, "latin1").
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            self.fail(
                f"_codecs.encode only allowed as encode(str, 'latin1'), got encoding {encoding!r}"
            )
        return text.encode("latin1")

    def _bytearray(self, data: object = b"") -> bytearray:
        if not isinstance(data, (bytes, bytearray, list)):
            self.fail(f"bytearray() only allowed from bytes or a list, got {type(data).__name__}")
        return bytearray(data)

    def _size(self, dims: object = ()) -> tuple:
        if not isinstance(dims, (tuple, list)) or not all(_is_int(d) for d in dims):
            self.fail(f"torch.Size expects a sequence of ints, got {dims!r:.100}")
        return tuple(dims)

    # -- tensors -------------------------------------------------------------
    def _ints(self, value: object, what: str) -> tuple:
        if not isinstance(value, (tuple, list)) or not all(_is_int(v) and v >= 0 for v in value):
            self.fail(f"tensor {what} must be a tuple of non-negative ints, got {value!r:.100}")
        return tuple(value)

    def _tensor(
        self,
        storage: object,
        offset: object,
        size: object,
        stride: object,
        dtype: _DType | None = None,
    ) -> np.ndarray | None:
        if not isinstance(storage, _Storage):
            self.fail(f"tensor rebuilt from {type(storage).__name__}, expected a storage")
        if not _is_int(offset) or offset < 0:
            self.fail(f"tensor storage offset must be a non-negative int, got {offset!r:.100}")
        size, stride = self._ints(size, "size"), self._ints(stride, "stride")
        if len(size) != len(stride):
            self.fail(f"tensor size {size} and stride {stride} differ in length")
        if dtype is None:
            dtype = storage.dtype
        elif not isinstance(dtype, _DType):
            self.fail(f"tensor dtype must be a torch dtype, got {dtype!r:.100}")
        if storage.data is None:  # dry pass over a legacy file: data not read yet
            return None
        # Offsets, sizes and strides count elements of the tensor's dtype.
        item = dtype.raw.itemsize
        fmt = dtype.raw.newbyteorder(storage.order)  # no-op for 1-byte types
        raw = storage.data[: storage.data.size // item * item].view(fmt)
        numel = 1
        for d in size:
            numel *= d
        if numel == 0:
            return _to_native(np.empty(size, raw.dtype), dtype)
        last = offset + sum((d - 1) * s for d, s in zip(size, stride))
        if last >= raw.size:
            self.fail(
                f"tensor of size {size}, stride {stride}, offset {offset} reaches element "
                f"{last} of a {dtype!r} storage with only {raw.size} elements"
            )
        whole = _storage_view(storage, dtype, fmt, size, stride, offset)
        if whole is not None:
            return whole
        self.spend(numel * item, f"tensor of size {size}")
        view = np.lib.stride_tricks.as_strided(
            raw[offset:], shape=size, strides=[s * item for s in stride], writeable=False
        )
        return _to_native(np.array(view, order="C"), dtype)

    def _made(self, arr: np.ndarray | None) -> np.ndarray | None:
        if arr is not None:
            self.made[id(arr)] = arr
        return arr

    def _rebuild_tensor(self, storage, storage_offset, size, stride):
        return self._made(self._tensor(storage, storage_offset, size, stride))

    def _rebuild_tensor_v2(
        self,
        storage,
        storage_offset,
        size,
        stride,
        requires_grad=False,
        backward_hooks=None,
        metadata=None,
    ):
        return self._made(self._tensor(storage, storage_offset, size, stride))

    def _rebuild_tensor_v3(
        self,
        storage,
        storage_offset,
        size,
        stride,
        requires_grad,
        backward_hooks,
        dtype,
        metadata=None,
    ):
        return self._made(self._tensor(storage, storage_offset, size, stride, dtype))

    def _check_tensor(self, data: object) -> Any:
        if data is not None and not isinstance(data, np.ndarray):
            self.fail(f"parameter data must be a tensor, got {type(data).__name__}")
        return data

    def _rebuild_parameter(self, data, requires_grad=True, backward_hooks=None):
        return self._check_tensor(data)

    def _rebuild_parameter_with_state(self, data, requires_grad, backward_hooks, state):
        return self._check_tensor(data)

    def _rebuild_from_type_v2(self, func, new_type, args, state):
        # Tensors/Parameters that carry Python attributes; the attributes are dropped.
        if (
            func not in self._tensor_fns
            or new_type not in (_TENSOR, _PARAMETER)
            or not isinstance(args, tuple)
        ):
            self.fail(
                "_rebuild_from_type_v2 only rebuilds plain tensors, "
                f"got {func!r:.60} / {new_type!r:.60}"
            )
        return self._check_tensor(func(*args))

    # -- storages ------------------------------------------------------------
    def storage_id(self, pid: object, length: int) -> tuple:
        """Validate a ('storage', type, key, location, numel[, view]) persistent id."""
        if not isinstance(pid, tuple) or len(pid) != length:
            self.fail(f"unexpected persistent id {pid!r:.100} (expected a {length}-tuple)")
        tag, stype, key, location, numel = pid[:5]
        if isinstance(tag, bytes):
            tag = tag.decode("ascii", "replace")
        if tag != "storage":
            self.fail(f"unsupported persistent id kind {tag!r:.60}")
        if not isinstance(stype, _StorageType):
            self.fail(f"persistent id names {stype!r:.60}, not a storage type")
        if not isinstance(key, str) or not isinstance(location, (str, bytes)):
            self.fail(f"persistent id has bad key/location {key!r:.60}/{location!r:.60}")
        if not _is_int(numel) or numel < 0:
            self.fail(f"storage {key!r} has invalid element count {numel!r:.60}")
        return stype, key, numel


class _Unpickler(pickle._Unpickler):
    """Unpickler that resolves globals only through the loader's allow-list.

    Built on the pure-Python unpickler: the C one sizes its memo from the
    indices in the file, so a single corrupt LONG_BINPUT can demand gigabytes.
    """

    def __init__(
        self, file: IO[bytes], loader: _Loader, persistent: Callable[[object], object] | None = None
    ):
        super().__init__(file, encoding="utf-8")
        self._loader = loader
        self._persistent = persistent

    def find_class(self, module, name):
        return self._loader.resolve(module, name)

    # Hashed containers are filled through the loader's key checks (linear time).
    def load_setitem(self):
        self._loader.check_keys(self.stack[-3], (self.stack[-2],))
        super().load_setitem()

    def load_setitems(self):
        items = self.pop_mark()
        target = self.stack[-1]
        self._loader.check_keys(target, items[::2])
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def load_dict(self):
        items = self.pop_mark()
        d: dict = {}
        self._loader.check_keys(d, items[::2])
        d.update(zip(items[::2], items[1::2]))
        self.append(d)

    def load_additems(self):
        items = self.pop_mark()
        self._loader.check_keys(self.stack[-1], items)
        target = self.stack[-1]
        if isinstance(target, set):
            target.update(items)
        else:
            self._loader.fail(f"ADDITEMS on a {type(target).__name__}, not a set")

    def load_frozenset(self):
        items = self.pop_mark()
        self._loader.check_keys(object(), items)
        self.append(frozenset(items))

    dispatch = pickle._Unpickler.dispatch.copy()
    dispatch[pickle.SETITEM[0]] = load_setitem
    dispatch[pickle.SETITEMS[0]] = load_setitems
    dispatch[pickle.DICT[0]] = load_dict
    dispatch[pickle.ADDITEMS[0]] = load_additems
    dispatch[pickle.FROZENSET[0]] = load_frozenset

    def persistent_load(self, pid):
        if self._persistent is None:
            self._loader.fail(f"unexpected persistent id {pid!r:.100}")
        return self._persistent(pid)


# ----------------------------------------------------------------------------- zip format


def _read_stored(f: IO[bytes], entry: zipfile.ZipInfo, buf: np.ndarray, loader: _Loader) -> int:
    """Read an uncompressed zip record straight into ``buf`` and check its CRC."""
    f.seek(entry.header_offset)
    head = f.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04" or entry.compress_size != entry.file_size:
        loader.fail(f"bad local header for zip record {entry.filename!r}")
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    f.seek(entry.header_offset + 30 + name_len + extra_len)
    got = f.readinto(buf) if buf.size else 0
    if got == buf.size and zlib.crc32(buf) != entry.CRC:
        loader.fail(f"CRC check failed for zip record {entry.filename!r} (corrupt data)")
    return got


def _load_zip(f: IO[bytes], loader: _Loader) -> Any:
    zf = zipfile.ZipFile(f)
    names = zf.namelist()
    if any(n.split("/")[1:2] in (["code"], ["constants.pkl"]) for n in names):
        loader.fail(
            "this is a TorchScript archive (torch.jit.save); only torch.save files are supported"
        )
    pkls = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkls) != 1:
        loader.fail(
            f"zip archive has {len(pkls)} top-level '<dir>/data.pkl' records, expected exactly 1"
        )
    prefix = pkls[0][: -len("data.pkl")]
    raw_order = "<"
    if prefix + "byteorder" in names:
        mark = zf.read(prefix + "byteorder")
        if mark not in (b"little", b"big"):
            loader.fail(f"unknown byteorder record {mark[:20]!r}")
        raw_order = "<" if mark == b"little" else ">"
    info = zf.getinfo(pkls[0])
    loader.spend(info.file_size, "data.pkl")
    pickled = zf.read(info)
    storages: dict[str, _Storage] = {}

    def persistent(pid: object) -> _Storage:
        stype, key, numel = loader.storage_id(pid, 5)
        if key in storages:
            if storages[key].dtype is not stype.dtype:
                loader.fail(f"storage {key!r} is used with two dtypes")
            return storages[key]
        record = f"{prefix}data/{key}"
        try:
            entry = zf.getinfo(record)
        except KeyError:
            loader.fail(f"storage record {record!r} is missing from the archive")
        nbytes = numel * stype.dtype.raw.itemsize
        if entry.file_size != nbytes:
            loader.fail(
                f"storage record {record!r} holds {entry.file_size} bytes, "
                f"expected {numel} x {stype.dtype!r} = {nbytes}"
            )
        loader.spend(nbytes, f"storage {key!r}")
        buf = np.empty(nbytes, np.uint8)
        if entry.compress_type == zipfile.ZIP_STORED and not entry.flag_bits & 1:
            got = _read_stored(f, entry, buf, loader)  # torch's layout: one copy, no chunking
        else:
            with zf.open(entry) as stream:
                got = _read_into(stream, buf)
        if got != nbytes:
            loader.fail(f"storage record {record!r} ended after {got} of {nbytes} bytes")
        storages[key] = _Storage(stype.dtype, buf, raw_order)
        return storages[key]

    return _Unpickler(io.BytesIO(pickled), loader, persistent).load()


# ----------------------------------------------------------------------------- legacy format


def _load_legacy(blob: bytes, loader: _Loader) -> Any:
    # The whole file sits in memory: storages become views of it, and pickle
    # reads of corrupt lengths are capped by BytesIO instead of allocating them.
    f = io.BytesIO(blob)
    try:
        magic = _Unpickler(f, loader).load()
    except WeightFileError:
        raise
    except Exception as e:  # noqa: BLE001 - whatever the pickle parser says, it is not ours
        loader.fail(
            f"not a PyTorch file (neither a zip archive nor a legacy pickle: "
            f"{type(e).__name__}: {str(e)[:200]})"
        )
    if not _is_int(magic) or magic != _LEGACY_MAGIC:
        loader.fail(f"not a PyTorch file: bad magic number {magic!r:.60}")
    version = _Unpickler(f, loader).load()
    if not _is_int(version) or version != _LEGACY_PROTOCOL:
        loader.fail(f"unsupported legacy protocol version {version!r:.60}")
    if not isinstance(_Unpickler(f, loader).load(), dict):
        loader.fail("legacy sys-info record is not a dict")
    start = f.tell()

    # Pass 1: learn the storages the pickle needs (no tensor data yet), which
    # also finds where the pickle ends and the storage data begins.
    roots: dict[str, tuple[_DType, int]] = {}

    def dry(pid: object) -> _Storage:
        stype, key, numel = loader.storage_id(pid, 6)
        view = pid[5]
        if roots.setdefault(key, (stype.dtype, numel)) != (stype.dtype, numel):
            loader.fail(f"storage {key!r} is declared twice with different type or size")
        if view is not None:
            if (
                not isinstance(view, tuple)
                or len(view) != 3
                or not isinstance(view[0], str)
                or not all(_is_int(v) and v >= 0 for v in view[1:])
                or view[1] + view[2] > numel
            ):
                loader.fail(
                    f"bad storage view {view!r:.100} on storage {key!r} of {numel} elements"
                )
        return _Storage(stype.dtype, None)

    _Unpickler(f, loader, dry).load()
    keys = _Unpickler(f, loader).load()
    if (
        not isinstance(keys, list)
        or not all(isinstance(k, str) for k in keys)
        or len(set(keys)) != len(keys)
    ):
        loader.fail("legacy storage-key list is not a list of distinct strings")
    if set(keys) != set(roots):
        loader.fail(
            f"storage keys {sorted(set(keys) ^ set(roots))[:5]} are missing data or never used"
        )
    data: dict[str, np.ndarray] = {}
    pos = f.tell()
    for key in keys:
        dtype, numel = roots[key]
        if pos + 8 > len(blob):
            loader.fail(f"file ends before the data of storage {key!r}")
        (count,) = struct.unpack_from("<q", blob, pos)
        if count != numel:
            loader.fail(f"storage {key!r} holds {count} elements, its tensor record says {numel}")
        nbytes = numel * dtype.raw.itemsize
        pos += 8
        if pos + nbytes > len(blob):
            loader.fail(f"file ends inside the data of storage {key!r} ({nbytes} bytes expected)")
        data[key] = np.frombuffer(blob, np.uint8, nbytes, pos)
        pos += nbytes

    # Pass 2: the real unpickling, with every storage's bytes at hand.
    def real(pid: object) -> _Storage:
        stype, key, _ = loader.storage_id(pid, 6)
        arr, view = data[key], pid[5]
        if view is not None:  # storage views (very old files): offset/size in elements
            item = stype.dtype.raw.itemsize
            arr = arr[view[1] * item : (view[1] + view[2]) * item]
        return _Storage(stype.dtype, arr)

    f.seek(start)
    return _Unpickler(f, loader, real).load()


# ----------------------------------------------------------------------------- public API


def _load(f: IO[bytes], loader: _Loader) -> Any:
    try:
        start = f.read(4)
        f.seek(0)
        if start == b"PK\x03\x04":
            return _load_zip(f, loader)
        f.seek(257)
        if f.read(5) == b"ustar":
            loader.fail("this is the pre-0.4 tar checkpoint format, which is not supported")
        f.seek(0)
        return _load_legacy(f.read(), loader)
    except WeightFileError:
        raise
    except RecursionError:
        loader.fail("malformed PyTorch file (objects nest too deeply)")
    except Exception as e:  # noqa: BLE001 - any parser failure means a malformed file
        loader.fail(f"malformed PyTorch file ({type(e).__name__}: {str(e)[:300]})")


def load_torch_objects(source: str | os.PathLike | IO[bytes]) -> tuple[Any, Callable]:
    """Load a ``torch.save`` file (a path or a binary file object); return the object and a
    predicate telling the arrays rebuilt from torch tensors from other (allowed) NumPy arrays.
    """
    if hasattr(source, "read"):
        name = getattr(source, "name", None)
        f = source if source.seekable() else io.BytesIO(source.read())
        start = f.tell()
        f = io.BytesIO(f.read()) if start else f  # readers below address from offset 0
        size = f.seek(0, os.SEEK_END)
        f.seek(0)
        loader = _Loader(name if isinstance(name, str) else "<file object>", size)
        obj = _load(f, loader)
    else:
        spath = os.fspath(source)
        with open(spath, "rb") as fh:
            loader = _Loader(spath, os.fstat(fh.fileno()).st_size)
            obj = _load(fh, loader)
    made = loader.made
    return obj, lambda arr: made.get(id(arr)) is arr


def load_torch_file(path: str | os.PathLike | IO[bytes]) -> Any:
    """Load a ``torch.save`` file (zip or legacy) without torch and without running pickled code.

    Tensors become NumPy arrays; dicts, lists and other plain containers are kept.
    Raises UnsafePickleError for any global outside the allow-list and
    WeightFileError (naming the file) for anything malformed.
    """
    return load_torch_objects(path)[0]


def _flatten(
    obj: dict, prefix: str, out: dict, loader_fail: Callable[[str], None], depth: int,
    seen: set | None = None,
) -> None:
    if depth > _MAX_DEPTH:
        loader_fail(f"state dict nests deeper than {_MAX_DEPTH} levels at {prefix!r}")
    seen = set() if seen is None else seen
    if id(obj) in seen:  # shared sub-dicts could make flattening exponential
        loader_fail(f"the dict at {prefix!r} appears more than once in the state dict")
    seen.add(id(obj))
    for k, v in obj.items():
        if not isinstance(k, (str, int)) or isinstance(k, bool):
            loader_fail(f"state dict key {k!r:.60} under {prefix!r} is not a string")
        name = f"{prefix}{k}"
        if isinstance(v, np.ndarray):
            if name in out:
                loader_fail(f"key {name!r} occurs twice after flattening")
            out[name] = v
        elif isinstance(v, dict):
            _flatten(v, name + ".", out, loader_fail, depth + 1, seen)
        else:
            loader_fail(f"state dict entry {name!r} is a {type(v).__name__}, not a tensor")


def torch_file_to_arrays(
    path: str | os.PathLike, prefix_strip: str | None = None
) -> dict[str, np.ndarray]:
    """Load a PyTorch checkpoint and return its state dict flattened to name -> ndarray.

    Looks inside the usual wrappers ('state_dict', 'model_state_dict', 'model');
    nested dicts are joined with '.'. ``prefix_strip`` (e.g. 'module.') is
    removed from the names that start with it.
    """
    spath = os.fspath(path)

    def fail(problem: str):
        raise WeightFileError(problem, spath)

    obj = load_torch_file(spath)
    for _ in range(8):
        if not isinstance(obj, dict):
            break
        inner = next(
            (
                obj[k]
                for k in ("state_dict", "model_state_dict", "model")
                if isinstance(obj.get(k), dict)
            ),
            None,
        )
        if inner is None:
            break
        obj = inner
    if isinstance(obj, np.ndarray):
        fail(f"file holds a single tensor of shape {obj.shape}, not a state dict")
    if not isinstance(obj, dict):
        fail(f"file holds a {type(obj).__name__}, not a dict of tensors")
    flat: dict[str, np.ndarray] = {}
    _flatten(obj, "", flat, fail, 0)
    if prefix_strip:
        stripped = {}
        for k, v in flat.items():
            nk = k[len(prefix_strip) :] if k.startswith(prefix_strip) else k
            if nk in stripped:
                fail(f"stripping {prefix_strip!r} makes key {nk!r} collide")
            stripped[nk] = v
        flat = stripped
    return flat
