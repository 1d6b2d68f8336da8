"""safetensors save/load: round trips, library compatibility, strict validation, atomic writes."""

import json
import os
import stat
import struct

import numpy as np
import pytest
from helpers import assert_owned

from nanotorch.io import (
    WeightFileError,
    atomic_open,
    atomic_write,
    load_arrays,
    safetensors_io,
    save_arrays,
)

st_numpy = pytest.importorskip("safetensors.numpy")

DTYPES = [
    np.bool_,
    np.uint8,
    np.int8,
    np.int16,
    np.uint16,
    np.int32,
    np.uint32,
    np.int64,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
]


def _sample(dtype, shape, rng):
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    return rng.standard_normal(shape).astype(dtype)


def _raw_file(path, header, data=b"", raw_header=None):
    blob = raw_header if raw_header is not None else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)
    return path


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    out = {f"t_{np.dtype(d).name}": _sample(d, (3, 5), rng) for d in DTYPES}
    base = rng.standard_normal((6, 8)).astype(np.float32)
    out["transposed"] = base.T
    out["strided"] = base[::2, 1::3]
    out["scalar"] = np.array(2.5, dtype=np.float64)
    out["empty"] = np.zeros((0, 4), dtype=np.float32)
    out["bigendian"] = np.arange(7, dtype=">i4")
    return out


def test_round_trip_all_dtypes_and_layouts(tmp_path, arrays):
    path = tmp_path / "w.safetensors"
    save_arrays(arrays, path, metadata={"format": "np", "note": "ünïcode"})
    got, meta = load_arrays(path)
    assert meta == {"format": "np", "note": "ünïcode"}
    assert list(got) == list(arrays), "key order must survive a round trip"
    for name, ref in arrays.items():
        assert got[name].shape == ref.shape, name
        assert got[name].dtype == ref.dtype.newbyteorder("="), name
        np.testing.assert_array_equal(got[name], ref, err_msg=name)
        assert_owned(got[name])


def test_arrays_are_independent_and_writable(tmp_path):
    path = tmp_path / "w.safetensors"
    save_arrays({"a": np.ones(4, np.float32), "b": np.ones(4, np.float32)}, path)
    got, meta = load_arrays(path)
    assert meta == {}
    got["a"][:] = 7
    np.testing.assert_array_equal(got["b"], np.ones(4, np.float32))
    np.testing.assert_array_equal(load_arrays(path)[0]["a"], np.ones(4, np.float32))


def test_written_files_are_aligned(tmp_path, arrays):
    path = tmp_path / "w.safetensors"
    save_arrays(arrays, path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__")
    for name, info in header.items():
        begin = info["data_offsets"][0]
        assert begin % arrays[name].dtype.itemsize == 0, name


def test_library_reads_our_files(tmp_path, arrays):
    path = tmp_path / "w.safetensors"
    save_arrays(arrays, path, metadata={"k": "v"})
    ref = st_numpy.load_file(str(path))
    assert set(ref) == set(arrays)
    for name, arr in arrays.items():
        np.testing.assert_array_equal(ref[name], arr, err_msg=name)


def test_we_read_library_files(tmp_path):
    rng = np.random.default_rng(1)
    tensors = {f"x{i}": _sample(d, (2, 3), rng) for i, d in enumerate(DTYPES)}
    path = tmp_path / "lib.safetensors"
    st_numpy.save_file(tensors, str(path), metadata={"a": "b"})
    got, meta = load_arrays(path)
    assert meta == {"a": "b"}
    assert set(got) == set(tensors)
    for name, arr in tensors.items():
        assert got[name].dtype == arr.dtype
        np.testing.assert_array_equal(got[name], arr)
        assert_owned(got[name])


def test_bf16_loads_as_float32(tmp_path):
    ref = np.array([1.0, -2.5, 3.140625, 0.0, np.inf, -1e30], np.float32)
    bits = (ref.view(np.uint32) >> 16).astype("<u2")  # values chosen exactly representable
    ref_exact = (bits.astype(np.uint32) << 16).view(np.float32)
    header = {"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, bits.nbytes]}}
    got, _ = load_arrays(_raw_file(tmp_path / "bf.safetensors", header, bits.tobytes()))
    assert got["w"].dtype == np.float32 and got["w"].shape == (2, 3)
    np.testing.assert_array_equal(got["w"].ravel(), ref_exact)
    assert_owned(got["w"])


def test_bool_bytes_other_than_one_are_normalised(tmp_path):
    header = {"m": {"dtype": "BOOL", "shape": [4], "data_offsets": [0, 4]}}
    got, _ = load_arrays(_raw_file(tmp_path / "b.safetensors", header, bytes([0, 1, 2, 255])))
    assert got["m"].dtype == np.bool_
    assert got["m"].tolist() == [False, True, True, True]
    assert got["m"].view(np.uint8).max() == 1


def test_empty_file_of_tensors(tmp_path):
    path = tmp_path / "e.safetensors"
    save_arrays({}, path)
    assert load_arrays(path) == ({}, {})


GOOD = {
    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
    "b": {"dtype": "I64", "shape": [1], "data_offsets": [8, 16]},
}


@pytest.mark.parametrize(
    "header, data, raw_header, problem",
    [
        (None, b"", b"{not json", "not valid JSON"),
        (None, b"", b"\xff\xfe{}", "not valid JSON"),
        ([1, 2], b"", None, "must be a JSON object"),
        (
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
            b"\0" * 8,
            b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
            "duplicate key",
        ),
        (
            {"a": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}},
            b"\0" * 8,
            None,
            "unknown variant `Q7`",
        ),
        (
            {"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}},
            b"\0" * 8,
            None,
            "integer `-2`, expected usize",
        ),
        (
            {"a": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}},
            b"\0" * 8,
            None,
            "`2.0`, expected usize",
        ),
        (
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}},
            b"\0" * 8,
            None,
            "invalid offset for tensor `a`",
        ),
        (
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0]}},
            b"\0" * 8,
            None,
            "expected a tuple of size 2",
        ),
        (
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 80]}},
            b"\0" * 8,
            None,
            "invalid shape, data type, or offset",
        ),
        (
            {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
            b"\0" * 8,
            None,
            "invalid shape, data type, or offset",
        ),
        (
            {
                "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
            },
            b"\0" * 12,
            None,
            "invalid offset for tensor `b`",
        ),
        (
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
            b"\0" * 12,
            None,
            "invalid offset for tensor `a`",
        ),
        (
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
            b"\0" * 12,
            None,
            "file not fully covered",
        ),
        ({"__metadata__": {"k": 1}, **GOOD}, b"\0" * 16, None, "expected a string"),
        ({"__metadata__": [1], **GOOD}, b"\0" * 16, None, "expected a map"),
        ({"a": [1, 2]}, b"", None, "expected string or map"),
        (
            {"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}},
            b"\0" * 8,
            None,
            "dtype C64, which nanotorch cannot load",
        ),
        (
            None,
            b"\0" * 4,
            b'{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,4]}}',
            "not valid JSON",
        ),
    ],
)
def test_corrupt_headers_raise(tmp_path, header, data, raw_header, problem):
    path = _raw_file(tmp_path / "bad.safetensors", header, data, raw_header)
    with pytest.raises(WeightFileError, match=problem) as info:
        load_arrays(path)
    assert str(path) in str(info.value)


def test_truncations_raise(tmp_path, arrays):
    path = tmp_path / "w.safetensors"
    save_arrays(arrays, path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    cut = tmp_path / "cut.safetensors"
    for size in [0, 3, 7, 8, 9, 8 + n // 2, 8 + n, 8 + n + 1, len(raw) - 1]:
        cut.write_bytes(raw[:size])
        with pytest.raises(WeightFileError, match="cut.safetensors"):
            load_arrays(cut)


def test_header_length_beyond_file(tmp_path):
    path = tmp_path / "h.safetensors"
    path.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    with pytest.raises(WeightFileError, match="runs past the end"):
        load_arrays(path)


def test_missing_file_is_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_arrays(tmp_path / "nope.safetensors")


@pytest.mark.parametrize(
    "arrays, metadata, exc, problem",
    [
        ({"a": [1.0, 2.0]}, None, TypeError, "must be a numpy.ndarray"),
        ({"a": np.array([object()])}, None, TypeError, "dtype object"),
        ({"a": np.zeros(2, np.complex64)}, None, TypeError, "dtype complex64"),
        ({1: np.zeros(2)}, None, TypeError, "names must be str"),
        ({"__metadata__": np.zeros(2)}, None, ValueError, "reserved"),
        ({"a": np.zeros(2)}, {"k": 3}, TypeError, "metadata must be a dict of str -> str"),
    ],
)
def test_save_rejects_bad_input(tmp_path, arrays, metadata, exc, problem):
    path = tmp_path / "x.safetensors"
    with pytest.raises(exc, match=problem):
        save_arrays(arrays, path, metadata)
    assert not path.exists()
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- atomicity


def test_failed_save_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    save_arrays({"old": np.arange(4.0)}, path)
    before = path.read_bytes()
    real, calls = np.ascontiguousarray, []

    def flaky(*args, **kwargs):  # second tensor write fails after the header went out
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(safetensors_io.np, "ascontiguousarray", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_arrays({"a": np.ones(1000), "b": np.ones(1000)}, path)
    monkeypatch.undo()
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.safetensors"]
    assert list(load_arrays(path)[0]) == ["old"]


def test_atomic_write_interrupt_and_success(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def interrupted(f):
        f.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, interrupted)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]

    atomic_write(path, lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["f.bin"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask


def test_atomic_open_text_and_new_file(tmp_path):
    path = tmp_path / "new.txt"
    with atomic_open(path, "w") as f:
        f.write("héllo")
        assert not path.exists(), "target must not appear before the block ends"
    assert path.read_text(encoding="utf-8") == "héllo"
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(path, "ab"):
            pass
    with pytest.raises(ZeroDivisionError):
        with atomic_open(tmp_path / "never.txt") as f:
            f.write(b"x")
            1 / 0
    assert sorted(os.listdir(tmp_path)) == ["new.txt"]


def test_saved_file_gets_the_usual_permissions(tmp_path):
    # the package creates its output 0o600; files are 0o666 less the umask, as open() makes them
    path = tmp_path / "w.safetensors"
    save_arrays({"a": np.ones(2)}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["w.safetensors"]
