"""Safe .pt/.pth reader: parity with torch.load on files torch writes, refusal of hostile
pickles."""

import io
import os
import pathlib
import pickle
import struct
import subprocess
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nanotorch.io import UnsafePickleError, WeightFileError, load_torch_file, torch_file_to_arrays  # noqa: E402

FORMATS = ["zip", "legacy"]
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def _save(obj, path, fmt, **kwargs):
    torch.save(obj, path, _use_new_zipfile_serialization=(fmt == "zip"), **kwargs)
    return path


def _as_np(t):
    t = t.detach()
    return t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()


def _assert_same(got, ref, where="root"):
    """Compare a load_torch_file result with torch.load's, recursively."""
    if isinstance(ref, torch.Tensor):
        assert isinstance(got, np.ndarray), where
        want = _as_np(ref)
        assert got.dtype == want.dtype and got.shape == want.shape, (where, got.dtype, got.shape)
        np.testing.assert_array_equal(got, want, err_msg=where)
        assert _private(got), where
    elif isinstance(ref, dict):
        assert isinstance(got, dict) and type(got) is type(ref), (where, type(got))
        assert list(got) == list(ref), where
        for k in ref:
            _assert_same(got[k], ref[k], f"{where}.{k}")
    elif isinstance(ref, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(ref), where
        assert isinstance(got, list) == isinstance(ref, list), where
        for i, (g, r) in enumerate(zip(got, ref)):
            _assert_same(g, r, f"{where}[{i}]")
    else:
        assert got == ref and type(got) is type(ref), (where, got, ref)


def _private(arr):
    """Writable, C-contiguous, backed by memory of its own (no file mapping, no bytes object)."""
    owner = arr if arr.base is None else arr.base
    return (
        arr.flags.writeable
        and arr.flags.c_contiguous
        and isinstance(owner, np.ndarray)
        and owner.base is None
        and not isinstance(owner, np.memmap)
    )


def _parity(obj, path, fmt):
    _save(obj, path, fmt)
    got = load_torch_file(path)
    _assert_same(got, torch.load(path, weights_only=True))
    return got


# ----------------------------------------------------------------------------- parity with torch


@pytest.mark.parametrize("fmt", FORMATS)
def test_dtypes(tmp_path, fmt):
    g = torch.Generator().manual_seed(0)
    obj = {
        "f32": torch.randn(3, 4, generator=g),
        "f64": torch.randn(5, dtype=torch.float64, generator=g),
        "f16": torch.randn(2, 3, generator=g).half(),
        "bf16": torch.randn(7, generator=g).bfloat16(),
        "i64": torch.arange(-3, 6),
        "i32": torch.arange(4, dtype=torch.int32),
        "i16": torch.arange(4, dtype=torch.int16),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([[True, False], [False, True]]),
        "c64": torch.randn(3, dtype=torch.complex64, generator=g),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
    }
    got = _parity(obj, tmp_path / "t.pt", fmt)
    assert got["bf16"].dtype == np.float32


def test_uint16_tensor_zip(tmp_path):
    # torch >= 2.3 writes these with _rebuild_tensor_v3 and an UntypedStorage.
    obj = {
        "u16": torch.tensor([1, 2, 65535]).to(torch.uint16),
        "u32": torch.tensor([7, 2**32 - 1]).to(torch.uint32),
    }
    _parity(obj, tmp_path / "u.pt", "zip")


@pytest.mark.parametrize("fmt", FORMATS)
def test_views_and_shared_storage(tmp_path, fmt):
    base = torch.arange(48, dtype=torch.float32).reshape(6, 8)
    flat = torch.arange(12, dtype=torch.float64)
    obj = {
        "base": base,
        "t": base.t(),
        "cols": base[:, 1::3],
        "rows": base[2:5],
        "tail": base[5, 3:],
        "expand": base[1:2].expand(4, 8),
        "flat": flat,
        "view": flat[2:8].view(2, 3),
    }
    path = _save(obj, tmp_path / "v.pt", fmt)
    if fmt == "zip":  # the test only means something if storages really are shared
        assert sum("/data/" in n for n in zipfile.ZipFile(path).namelist()) == 2
    got = load_torch_file(path)
    _assert_same(got, torch.load(path, weights_only=True))
    for name in ("flat", "base"):  # views became independent arrays
        got[name][...] = -1
    ref = torch.load(path, weights_only=True)
    for name in obj:
        if name not in ("flat", "base"):
            _assert_same(got[name], ref[name], name)


@pytest.mark.parametrize("fmt", FORMATS)
def test_nested_containers(tmp_path, fmt):
    obj = {
        "state_dict": {"w": torch.ones(2, 2), "b": torch.zeros(2)},
        "epoch": 3,
        "lr": 0.125,
        "name": "run-1",
        "flags": [True, None, (1, "x")],
        "bytes": b"\x00\xffab",
        "set": {1, 2, 3},
        "size": torch.Size([2, 3]),
        "tensors": [torch.arange(3), (torch.tensor(1.5),)],
        "od": OrderedDict(a=torch.ones(1), b=2),
    }
    path = _save(obj, tmp_path / "n.pt", fmt)
    got = load_torch_file(path)
    ref = torch.load(path, weights_only=True)
    assert got["size"] == (2, 3) and type(got["size"]) is tuple
    got["size"] = ref["size"] = None
    _assert_same(got, ref)


class _Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4, 2)
        self.register_buffer("mask", torch.tensor([True, False]))


@pytest.mark.parametrize("fmt", FORMATS)
def test_module_state_dict(tmp_path, fmt):
    torch.manual_seed(0)
    model = _Small()
    model.bn.running_mean.uniform_()
    sd = model.state_dict()
    path = _save(sd, tmp_path / "m.pt", fmt)
    got = load_torch_file(path)
    ref = torch.load(path, weights_only=True)
    _assert_same(got, ref)
    assert type(got) is OrderedDict
    assert got._metadata == ref._metadata  # pickled via BUILD on the OrderedDict
    assert got["bn.num_batches_tracked"].dtype == np.int64
    flat = torch_file_to_arrays(path)
    assert list(flat) == list(sd)


@pytest.mark.parametrize("fmt", FORMATS)
def test_parameters_and_tensor_attributes(tmp_path, fmt):
    p = torch.nn.Parameter(torch.randn(3))
    q = torch.nn.Parameter(torch.randn(2))
    q.tag = "with-state"  # -> _rebuild_parameter_with_state
    t = torch.randn(4)
    t.note = 1  # -> _rebuild_from_type_v2
    params = list(torch.nn.Linear(2, 2).parameters())
    path = _save({"p": p, "q": q, "t": t, "params": params}, tmp_path / "p.pt", fmt)
    got = load_torch_file(path)
    ref = torch.load(path, weights_only=True)
    for k in ("p", "q", "t"):
        _assert_same(got[k], ref[k], k)
    _assert_same(got["params"], [x.detach() for x in ref["params"]])


def _rewrite_zip(src_path, dst_path, edit):
    """Copy a zip archive, each member's bytes through ``edit(name, data)``; ``dst_path``."""
    with zipfile.ZipFile(src_path) as src, zipfile.ZipFile(dst_path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, edit(info.filename, src.read(info)))
    return dst_path


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float64, torch.int64, torch.float16, torch.bfloat16]
)
def test_big_endian_zip(tmp_path, dtype):
    t = (torch.arange(10) * 3 - 7).to(dtype)
    path = _save({"a": t}, tmp_path / "le.pt", "zip")

    def big_endian(name, data):
        if name.endswith("/byteorder"):
            return b"big"
        if "/data/" in name:
            return np.frombuffer(data, np.dtype(f"u{t.element_size()}")).byteswap().tobytes()
        return data

    be_path = _rewrite_zip(path, tmp_path / "be.pt", big_endian)
    got = load_torch_file(be_path)["a"]
    _assert_same(got, t)
    _assert_same(got, torch.load(be_path, weights_only=True)["a"])


def test_real_torchvision_style_legacy_state_dict(tmp_path):
    # Same shape of file as torchvision's old hub weights: legacy format, OrderedDict.
    torch.manual_seed(1)
    sd = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8)).state_dict()
    path = _save(sd, tmp_path / "legacy.pth", "legacy")
    assert path.read_bytes()[:2] == b"\x80\x02"
    _assert_same(load_torch_file(path), torch.load(path, weights_only=True))


# ----------------------------------------------------------------------------- torch_file_to_arrays


@pytest.mark.parametrize("wrapper", [None, "state_dict", "model", "model_state_dict"])
def test_to_arrays_unwraps(tmp_path, wrapper):
    sd = OrderedDict(("module." + k, v) for k, v in _Small().state_dict().items())
    obj = sd if wrapper is None else {wrapper: sd, "epoch": 7, "optimizer": {"lr": 0.1}}
    path = _save(obj, tmp_path / "c.pt", "zip")
    flat = torch_file_to_arrays(path)
    assert list(flat) == list(sd)
    stripped = torch_file_to_arrays(path, prefix_strip="module.")
    assert list(stripped) == [k[len("module.") :] for k in sd]
    for k, v in sd.items():
        np.testing.assert_array_equal(stripped[k[len("module.") :]], _as_np(v))


def test_to_arrays_flattens_nested_and_rejects_non_tensors(tmp_path):
    path = _save(
        {"enc": {"w": torch.ones(2)}, "dec": {"w": torch.zeros(1), 0: torch.ones(1)}},
        tmp_path / "n.pt",
        "zip",
    )
    flat = torch_file_to_arrays(path)
    assert list(flat) == ["enc.w", "dec.w", "dec.0"]
    bad = _save({"w": torch.ones(2), "epoch": 3}, tmp_path / "b.pt", "zip")
    with pytest.raises(WeightFileError, match="'epoch' is a int, not a tensor"):
        torch_file_to_arrays(bad)
    single = _save(torch.ones(2, 3), tmp_path / "s.pt", "zip")
    with pytest.raises(WeightFileError, match=r"single tensor of shape \(2, 3\)"):
        torch_file_to_arrays(single)
    lst = _save([torch.ones(1)], tmp_path / "l.pt", "legacy")
    with pytest.raises(WeightFileError, match="holds a list"):
        torch_file_to_arrays(lst)
    clash = _save({"module.a": torch.ones(1), "a": torch.ones(1)}, tmp_path / "k.pt", "zip")
    with pytest.raises(WeightFileError, match="collide"):
        torch_file_to_arrays(clash, prefix_strip="module.")


# ----------------------------------------------------------------------------- hostile pickles


class _Evil:
    """Pickles as a call of ``fn(*args)``: what an attacker's checkpoint would contain."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def _payloads(marker):
    m = str(marker)
    return {
        "posix.system": _Evil(os.system, f"touch {m}"),
        "builtins.eval": _Evil(eval, f"open({m!r}, 'w').close()"),
        "builtins.exec": _Evil(exec, f"open({m!r}, 'w').close()"),
        "subprocess.Popen": _Evil(subprocess.Popen, ["touch", m]),
        "builtins.getattr": _Evil(getattr, pathlib.Path(m), "touch"),
        "torch.storage._load_from_bytes": _Evil(torch.storage._load_from_bytes, b"x"),
    }


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "a pickled payload was executed"


def _expect_unsafe(path, name):
    with pytest.raises(UnsafePickleError) as info:
        load_torch_file(path)
    assert info.value.global_name == name
    assert isinstance(info.value, WeightFileError)
    assert str(path) in str(info.value) and name in str(info.value)
    with pytest.raises(UnsafePickleError):
        torch_file_to_arrays(path)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(_payloads("x")))
def test_payload_saved_by_torch_is_refused(tmp_path, marker, fmt, name):
    evil = _payloads(marker)[name]
    path = _save({"state_dict": {"w": torch.ones(2)}, "extra": [evil]}, tmp_path / "e.pt", fmt)
    _expect_unsafe(path, name)


@pytest.mark.parametrize("protocol", [2, 4])
def test_payload_in_zip_data_pkl(tmp_path, marker, protocol):
    good = _save({"w": torch.ones(2)}, tmp_path / "good.pt", "zip")
    evil = pickle.dumps({"w": _Evil(os.system, f"touch {marker}")}, protocol=protocol)
    path = _rewrite_zip(good, tmp_path / "evil.pt",
                        lambda name, data: evil if name.endswith("/data.pkl") else data)
    _expect_unsafe(path, "posix.system")


def _legacy_parts(path):
    """Split a legacy torch file into its five pickles and the raw storage bytes."""

    class Skim(pickle.Unpickler):  # trusted input (torch just wrote it); only finds the boundaries
        def find_class(self, mod, name):
            return lambda *a, **k: None

        def persistent_load(self, pid):
            return None

    f = io.BytesIO(path.read_bytes())
    ends = []
    for _ in range(5):
        Skim(f).load()
        ends.append(f.tell())
    raw = f.getvalue()
    starts = [0] + ends[:-1]
    return [raw[a:b] for a, b in zip(starts, ends)], raw[ends[-1] :]


@pytest.mark.parametrize("slot", [0, 1, 2, 3, 4])
def test_payload_in_each_legacy_pickle(tmp_path, marker, slot):
    good = _save({"w": torch.ones(2)}, tmp_path / "good.pt", "legacy")
    parts, tail = _legacy_parts(good)
    parts[slot] = pickle.dumps(_Evil(os.system, f"touch {marker}"), protocol=2)
    path = tmp_path / "evil.pt"
    path.write_bytes(b"".join(parts) + tail)
    _expect_unsafe(path, "posix.system")


@pytest.mark.parametrize(
    "payload, name",
    [
        (b"(S'touch {m}'\nios\nsystem\n.", "os.system"),  # protocol 0 INST
        (b"(cos\nsystem\nS'touch {m}'\no.", "os.system"),  # OBJ
        (b'c__builtin__\neval\n(S\'open("{m}", "w")\'\ntR.', "builtins.eval"),  # py2 module name
        (b"\x80\x02cnanotorch.io.torch_pickle\n_Loader\n)R.", "nanotorch.io.torch_pickle._Loader"),
        (b"\x80\x02cnumpy\nload\nX\x03\x00\x00\x00{m}\x85R.", "numpy.load"),
    ],
)
def test_raw_pickle_payloads(tmp_path, marker, payload, name):
    path = tmp_path / "raw.pkl"
    path.write_bytes(payload.replace(b"{m}", str(marker).encode()))
    _expect_unsafe(path, name)


def test_whole_module_pickle_is_refused(tmp_path):
    path = _save(torch.nn.Linear(2, 2), tmp_path / "model.pt", "zip")
    with pytest.raises(UnsafePickleError, match="torch.nn.modules.linear.Linear"):
        load_torch_file(path)


# ----------------------------------------------------------------------------- malformed files


class _PStorage:
    def __init__(self, pid):
        self.pid = pid


class _TensorRec:
    """Pickles as a torch tensor-rebuild call with arbitrary (possibly bad) arguments."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


class _IdPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _PStorage) else None


def _craft_zip(path, obj, records, byteorder=b"little"):
    buf = io.BytesIO()
    _IdPickler(buf, protocol=2).dump(obj)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/byteorder", byteorder)
        for key, data in records.items():
            z.writestr(f"archive/data/{key}", data)
    return path


def _craft_legacy(path, obj, storages):
    """storages: key -> (numel written in the data section, raw bytes)."""
    out = io.BytesIO()
    for head in (LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(head, out, protocol=2)
    _IdPickler(out, protocol=2).dump(obj)
    pickle.dump(sorted(storages), out, protocol=2)
    for key in sorted(storages):
        numel, data = storages[key]
        out.write(struct.pack("<q", numel) + data)
    path.write_bytes(out.getvalue())
    return path


def _fstore(numel, key="0", pid_len=5):
    pid = ("storage", torch.FloatStorage, key, "cpu", numel, None)[:pid_len]
    return _PStorage(pid)


V2 = torch._utils._rebuild_tensor_v2
F32 = np.arange(6, dtype="<f4").tobytes()


@pytest.mark.parametrize(
    "obj, records, problem",
    [
        (
            _TensorRec(V2, _fstore(6), 0, (2, 4), (4, 1), False, OrderedDict()),
            {"0": F32},
            "reaches element 7",
        ),
        (
            _TensorRec(V2, _fstore(6), 5, (2,), (1,), False, OrderedDict()),
            {"0": F32},
            "reaches element 6",
        ),
        (
            _TensorRec(V2, _fstore(6), 0, (2, 3), (3,), False, OrderedDict()),
            {"0": F32},
            "differ in length",
        ),
        (
            _TensorRec(V2, _fstore(6), 0, (2, 3), (-3, 1), False, OrderedDict()),
            {"0": F32},
            "non-negative",
        ),
        (
            _TensorRec(V2, _fstore(6), -1, (2,), (1,), False, OrderedDict()),
            {"0": F32},
            "storage offset",
        ),
        (
            _TensorRec(V2, "not a storage", 0, (2,), (1,), False, OrderedDict()),
            {},
            "expected a storage",
        ),
        (
            _TensorRec(V2, _fstore(6), 0, (2**40,), (0,), False, OrderedDict()),
            {"0": F32},
            "more than a file",
        ),
        ({"w": _fstore(6)}, {}, "missing from the archive"),
        ({"w": _fstore(7)}, {"0": F32}, "holds 24 bytes, expected 7"),
        ({"w": _fstore(6, pid_len=4)}, {"0": F32}, "expected a 5-tuple"),
        (
            {"w": _PStorage(("module", torch.FloatStorage, "0", "cpu", 6))},
            {"0": F32},
            "persistent id kind",
        ),
        (
            {"w": _PStorage(("storage", torch.float32, "0", "cpu", 6))},
            {"0": F32},
            "not a storage type",
        ),
        (
            {"w": _PStorage(("storage", torch.FloatStorage, "0", "cpu", -6))},
            {"0": F32},
            "invalid element count",
        ),
        ({"b": _TensorRec(bytearray, 10**12)}, {}, "bytearray"),
        ({"b": _TensorRec(__import__("_codecs").encode, "x", "zlib_codec")}, {}, "_codecs.encode"),
        ({"s": _TensorRec(torch.Size, ("a",))}, {}, "torch.Size expects"),
        (
            {"p": _TensorRec(torch._utils._rebuild_parameter, "x", True, OrderedDict())},
            {},
            "parameter data",
        ),
        (
            {
                "f": _TensorRec(
                    torch._tensor._rebuild_from_type_v2, set, torch.Tensor, ((1,),), None
                )
            },
            {},
            "only rebuilds plain tensors",
        ),
    ],
)
def test_crafted_zip_errors(tmp_path, obj, records, problem):
    path = _craft_zip(tmp_path / "c.pt", obj, records)
    with pytest.raises(WeightFileError, match=problem) as info:
        load_torch_file(path)
    assert str(path) in str(info.value) and not isinstance(info.value, UnsafePickleError)


def test_build_cannot_alter_allowed_globals(tmp_path):
    payloads = (
        b"\x80\x02ctorch\nfloat32\n}b.",  # BUILD with a dict state
        b"\x80\x02ctorch\nFloatStorage\n)}\x86b.",  # BUILD with (None, slots) state
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n}b.",
    )
    for payload in payloads:
        path = tmp_path / "b.pkl"
        path.write_bytes(payload)
        with pytest.raises(WeightFileError, match="pickle tried to set"):
            load_torch_file(path)
    # the markers still work afterwards
    good = _craft_zip(
        tmp_path / "ok.pt",
        {"w": _TensorRec(V2, _fstore(6), 0, (2, 3), (3, 1), False, OrderedDict())},
        {"0": F32},
    )
    np.testing.assert_array_equal(
        load_torch_file(good)["w"], np.arange(6, dtype=np.float32).reshape(2, 3)
    )


def test_crafted_legacy_storage_views_and_errors(tmp_path):
    root = np.arange(10, dtype="<f4").tobytes()
    view = _PStorage(("storage", torch.FloatStorage, "r", "cpu", 10, ("v", 2, 6)))
    obj = {"w": _TensorRec(V2, view, 1, (2, 2), (2, 1), False, OrderedDict())}
    path = _craft_legacy(tmp_path / "v.pt", obj, {"r": (10, root)})
    # the view starts at element 2 of the root; the tensor at element 1 of the view
    np.testing.assert_array_equal(
        load_torch_file(path)["w"], np.array([[3, 4], [5, 6]], np.float32)
    )

    cases = [
        ({"r": (9, root)}, obj, "holds 9 elements"),
        ({"r": (10, root[:-4])}, obj, "file ends inside"),
        ({"q": (10, root)}, obj, "missing data or never used"),
        (
            {"r": (10, root)},
            {"w": _PStorage(("storage", torch.FloatStorage, "r", "cpu", 10, ("v", 8, 6)))},
            "bad storage view",
        ),
        (
            {"r": (10, root)},
            {
                "a": _PStorage(("storage", torch.FloatStorage, "r", "cpu", 10, None)),
                "b": _PStorage(("storage", torch.DoubleStorage, "r", "cpu", 10, None)),
            },
            "declared twice",
        ),
    ]
    for storages, o, problem in cases:
        bad = _craft_legacy(tmp_path / "bad.pt", o, storages)
        with pytest.raises(WeightFileError, match=problem):
            load_torch_file(bad)


def test_flipped_storage_byte_fails_crc(tmp_path):
    path = _save({"w": torch.arange(1000, dtype=torch.float32)}, tmp_path / "w.pt", "zip")
    info = next(i for i in zipfile.ZipFile(path).infolist() if i.filename.endswith("/data/0"))
    raw = bytearray(path.read_bytes())
    assert raw.find(np.arange(1000, dtype="<f4").tobytes()) > info.header_offset
    raw[raw.find(np.arange(1000, dtype="<f4").tobytes()) + 100] ^= 0x10
    path.write_bytes(bytes(raw))
    with pytest.raises(WeightFileError, match="CRC check failed"):
        load_torch_file(path)


def test_corrupt_memo_index_is_harmless(tmp_path):
    # LONG_BINPUT 2**31-1: the C unpickler would size its memo for it (16+ GiB).
    path = tmp_path / "memo.pt"
    path.write_bytes(b"\x80\x02K\x01r\xff\xff\xff\x7f.")
    with pytest.raises(WeightFileError, match="bad magic number 1"):
        load_torch_file(path)


def test_not_torch_files(tmp_path):
    cases = {
        "empty.pt": b"",
        "text.pt": b"hello world, not a checkpoint\n",
        "json.pt": b'{"a": 1}',
        "pickled_int.pt": pickle.dumps(12345, protocol=2),
        "zip_no_pkl.pt": None,
        "safetensors.pt": struct.pack("<Q", 2) + b"{}",
    }
    for name, data in cases.items():
        path = tmp_path / name
        if data is None:
            with zipfile.ZipFile(path, "w") as z:
                z.writestr("readme.txt", "hi")
        else:
            path.write_bytes(data)
        with pytest.raises(WeightFileError, match=name):
            load_torch_file(path)
    with pytest.raises(FileNotFoundError):
        load_torch_file(tmp_path / "missing.pt")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_archive_is_rejected(tmp_path):
    path = tmp_path / "ts.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
    with pytest.raises(WeightFileError, match="TorchScript"):
        load_torch_file(path)
