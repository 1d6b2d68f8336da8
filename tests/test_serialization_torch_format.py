"""nanotorch.save writes PyTorch's zip format: the real torch.load(weights_only=True) reads it,
and nanotorch.load reads what torch.save writes, from paths and file objects alike."""

import io
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import nanotorch as nt
from nanotorch import serialization
from nanotorch.io import UnsafePickleError, WeightFileError, torch_pickle

torch = pytest.importorskip("torch")

NT_DTYPES = [
    nt.bool,
    nt.uint8,
    nt.int8,
    nt.int16,
    nt.int32,
    nt.int64,
    nt.float16,
    nt.float32,
    nt.float64,
]


def _nt_sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if dtype is nt.bool:
        return nt.tensor(rng.random(shape) > 0.5)
    if dtype.is_floating_point:
        return nt.tensor(rng.standard_normal(shape).astype(dtype.np))
    info = np.iinfo(dtype.np)
    return nt.tensor(rng.integers(info.min, info.max, size=shape, dtype=dtype.np, endpoint=True))


def _same(ours, theirs, where="root"):
    """``ours`` (nanotorch objects) equals ``theirs`` (torch objects) in values, dtypes,
    shapes and container types."""
    if isinstance(ours, nt.Tensor):
        assert isinstance(theirs, (torch.Tensor, nt.Tensor)), (where, type(theirs))
        want = ours.detach().numpy()
        got = theirs.detach().numpy()
        assert got.dtype == want.dtype and got.shape == want.shape, (where, got.dtype, got.shape)
        np.testing.assert_array_equal(got, want, err_msg=where)
    elif isinstance(ours, dict):
        assert type(theirs) is type(ours) and list(theirs) == list(ours), (where, type(theirs))
        for k in ours:
            _same(ours[k], theirs[k], f"{where}.{k}")
    elif isinstance(ours, (list, tuple)):
        assert type(theirs) is type(ours) and len(theirs) == len(ours), (where, type(theirs))
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(ours, float) and ours != ours:
        assert theirs != theirs, where
    else:
        assert theirs == ours and type(theirs) is type(ours), (where, theirs, ours)


def _trained_model_and_optimizer(opt_cls, **kw):
    nt.manual_seed(0)
    model = nt.nn.Sequential(nt.nn.Linear(4, 3), nt.nn.BatchNorm1d(3), nt.nn.Linear(3, 2))
    opt = opt_cls(model.parameters(), **kw)
    for _ in range(2):
        opt.zero_grad()
        model(nt.randn(5, 4)).pow(2).sum().backward()
        opt.step()
    return model, opt


def _objects():
    x = nt.arange(24, dtype=nt.float32).reshape(4, 6)
    model, sgd = _trained_model_and_optimizer(nt.optim.SGD, lr=0.1, momentum=0.9)
    _, adam = _trained_model_and_optimizer(nt.optim.Adam, lr=0.01)
    return {
        "state_dict": model.state_dict(),
        "sgd_state": sgd.state_dict(),
        "adam_state": adam.state_dict(),
        "dtypes": {d.name: _nt_sample(d, (2, 3)) for d in NT_DTYPES},
        "zero_dim": [nt.tensor(3.5), nt.tensor(7), nt.tensor(True)],
        "empty": [nt.zeros(0), nt.zeros(3, 0, 2, dtype=nt.int64)],
        "views": {"base": x, "t": x.t(), "row": x[1], "step": x[::2, 1::3], "tail": x[2:]},
        "scalars": [
            0,
            1,
            -1,
            255,
            256,
            65535,
            65536,
            -(2**31),
            2**31,
            2**63,
            -(2**80),
            1.5,
            float("inf"),
            float("-inf"),
            float("nan"),
            -0.0,
            True,
            False,
            None,
        ],
        "strings": ["", "plain", "ünïcödé ∑", "a\nb"],
        "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4, (5, [6]))],
        "int_keys": {0: "a", -3: "b", 2**40: "c"},
        "ordered": OrderedDict([("z", nt.ones(2)), ("a", [1, 2])]),
        "long_list": list(range(2500)),
        "big_dict": {f"k{i}": i for i in range(2100)},
        "odd_layouts": {
            "reversed": nt.from_numpy(np.arange(6.0)[::-1]),
            "broadcast": nt.from_numpy(np.broadcast_to(np.arange(3.0), (4, 3))),
            "element": x[1, 2],
        },
        "parameter": nt.nn.Parameter(nt.ones(3)),
        "grad_tensor": nt.ones(2, requires_grad=True),
    }


@pytest.mark.parametrize("name", list(_objects()))
def test_torch_reads_what_nanotorch_saves(tmp_path, name):
    obj = _objects()[name]
    path = tmp_path / "obj.pt"
    nt.save(obj, path)
    _same(obj, torch.load(path, weights_only=True))
    _same(obj, nt.load(path))


def test_whole_checkpoint_and_single_tensor(tmp_path):
    objs = _objects()
    nt.save(objs, tmp_path / "all.pt")
    _same(objs, torch.load(tmp_path / "all.pt", weights_only=True))
    nt.save(nt.arange(5), tmp_path / "one.pt")
    assert torch.equal(torch.load(tmp_path / "one.pt", weights_only=True), torch.arange(5))
    nt.save(3, tmp_path / "int.pt")
    assert torch.load(tmp_path / "int.pt", weights_only=True) == 3


def test_flags_and_shared_storage_survive(tmp_path):
    x = nt.arange(12, dtype=nt.float32).reshape(3, 4)
    nt.save(
        {
            "x": x,
            "t": x.t(),
            "row": x[1],
            "p": nt.nn.Parameter(nt.ones(2)),
            "g": nt.ones(2, requires_grad=True),
        },
        tmp_path / "s.pt",
    )
    got = torch.load(tmp_path / "s.pt", weights_only=True)
    assert got["t"].stride() == (1, 4) and got["row"].storage_offset() == 4
    ptr = got["x"].untyped_storage().data_ptr()
    assert got["t"].untyped_storage().data_ptr() == ptr == got["row"].untyped_storage().data_ptr()
    got["x"][1, 0] = 100.0  # a shared storage in torch too
    assert got["row"][0].item() == 100.0 and got["t"][0, 1].item() == 100.0
    assert isinstance(got["p"], torch.nn.Parameter) and got["p"].requires_grad
    assert got["g"].requires_grad and not got["x"].requires_grad


def test_a_small_view_of_a_big_tensor_does_not_write_the_big_one(tmp_path):
    big = nt.zeros(1_000_000)
    nt.save({"head": big[:10]}, tmp_path / "v.pt")
    assert os.path.getsize(tmp_path / "v.pt") < 10_000
    assert torch.load(tmp_path / "v.pt", weights_only=True)["head"].shape == (10,)


def _torch_objects():
    x = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(5, 4)).sum().backward()
    opt.step()
    dtypes = [
        torch.bool,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.float16,
        torch.float32,
        torch.float64,
    ]
    return {
        "state_dict": model.state_dict(),
        "optimizer": opt.state_dict(),
        "dtypes": {str(d): torch.arange(6).reshape(2, 3).to(d) for d in dtypes},
        "views": [x, x.t(), x[1], x[::2, 1::3], x[2:], x.t()[1:, ::2]],
        "zero_dim": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "plain": [1, -(2**70), 2.5, "s", None, True, (1, (2,)), {"n": {3: 4}}],
        "ordered": OrderedDict(b=torch.ones(1), a=2),
    }


@pytest.mark.parametrize("name", list(_torch_objects()))
def test_nanotorch_reads_what_torch_saves(tmp_path, name):
    ref = _torch_objects()[name]
    torch.save(ref, tmp_path / "t.pt")
    _same(nt.load(tmp_path / "t.pt"), ref)


def test_bfloat16_from_torch_widens_to_float32(tmp_path):
    ref = torch.tensor([1.0, -2.5, 3.140625]).bfloat16()
    torch.save({"b": ref}, tmp_path / "bf.pt")
    got = nt.load(tmp_path / "bf.pt")["b"]
    assert got.dtype is nt.float32
    np.testing.assert_array_equal(got.numpy(), ref.float().numpy())


def test_file_objects_both_ways():
    obj = {"w": nt.randn(3, 2), "epoch": 4}
    buf = io.BytesIO()
    nt.save(obj, buf)
    buf.seek(0)
    _same(obj, torch.load(buf, weights_only=True))
    buf.seek(0)
    _same(obj, nt.load(buf))
    tbuf = io.BytesIO()
    torch.save({"a": torch.ones(2)}, tbuf)

    class Unseekable(io.RawIOBase):  # e.g. a pipe
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.inner.readinto(b)

    got = nt.load(io.BufferedReader(Unseekable(tbuf.getvalue())))
    np.testing.assert_array_equal(got["a"].numpy(), np.ones(2, np.float32))
    sbuf = io.BytesIO()
    nt.save(obj, sbuf, format="safetensors")
    sbuf.seek(0)
    _same(obj, nt.load(sbuf))


def test_format_choice(tmp_path):
    sd = {"w": nt.ones(2)}
    nt.save(sd, tmp_path / "a.safetensors")
    assert (tmp_path / "a.safetensors").read_bytes()[8:9] == b"{"
    nt.save(sd, tmp_path / "b.pt", format="safetensors")
    assert (tmp_path / "b.pt").read_bytes()[8:9] == b"{"
    nt.save(sd, tmp_path / "c.bin")
    assert zipfile.is_zipfile(tmp_path / "c.bin")
    for f in ("a.safetensors", "b.pt", "c.bin"):
        _same(sd, nt.load(tmp_path / f))
    with pytest.raises(ValueError, match="format must be"):
        nt.save(sd, tmp_path / "d.pt", format="pickle")
    with pytest.raises(ValueError, match="metadata is stored in safetensors files only"):
        nt.save(sd, tmp_path / "d.pt", metadata={"a": "b"})
    with pytest.raises(TypeError, match="cannot save a object"):
        nt.save({"x": object()}, tmp_path / "d.pt")
    cyclic = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="contains itself"):
        nt.save(cyclic, tmp_path / "d.pt")
    assert not (tmp_path / "d.pt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.safetensors", "b.pt", "c.bin"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    nt.save({"old": nt.ones(2)}, path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    from nanotorch.io import torch_writer

    monkeypatch.setattr(torch_writer, "_write_record", broken)
    with pytest.raises(OSError, match="disk full"):
        nt.save({"new": nt.zeros(3)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ck.pt"]


def test_load_keywords():
    buf = io.BytesIO()
    nt.save({"w": nt.ones(2)}, buf)
    for loc in (None, "cpu", nt.device("cpu"), torch.device("cpu")):
        buf.seek(0)
        assert nt.load(buf, map_location=loc, weights_only=True)["w"].shape == (2,)
    buf.seek(0)
    with pytest.raises(ValueError, match="map_location must be 'cpu'"):
        nt.load(buf, map_location="cuda:0")
    with pytest.raises(ValueError, match="never unpickles code"):
        nt.load(buf, weights_only=False)


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("as_file", [False, True])
def test_malicious_pickle_in_a_pt_never_executes(tmp_path, as_file):
    marker = tmp_path / "pwned"
    good = io.BytesIO()
    nt.save({"w": nt.ones(2)}, good)
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("/data.pkl"):
                data = pickle.dumps({"w": _Evil(marker)}, protocol=2)
            dst.writestr(info.filename, data)
    with pytest.raises(UnsafePickleError, match="posix.system"):
        if as_file:
            with open(path, "rb") as f:
                nt.load(f)
        else:
            nt.load(path)
    assert not marker.exists()


def test_numpy_arrays_need_add_safe_globals(tmp_path, monkeypatch):
    monkeypatch.setattr(torch_pickle, "_USER_GLOBALS", {})
    ref = {"a": np.arange(3.0), "b": np.array([[1, 2]], np.int32), "t": torch.ones(2)}
    torch.save(ref, tmp_path / "np.pt")
    with pytest.raises(UnsafePickleError, match="numpy._core.multiarray._reconstruct"):
        nt.load(tmp_path / "np.pt")
    assert serialization.get_safe_globals() == []
    serialization.add_safe_globals([np._core.multiarray._reconstruct, np.ndarray, np.dtype])
    got = nt.load(tmp_path / "np.pt")
    assert type(got["a"]) is np.ndarray and type(got["t"]) is nt.Tensor
    np.testing.assert_array_equal(got["a"], ref["a"])
    assert got["b"].dtype == np.int32
    with pytest.raises(TypeError, match="not a function"):
        serialization.add_safe_globals([3])


def test_corrupt_files_raise_weight_file_error(tmp_path):
    path = tmp_path / "x.pt"
    nt.save({"w": nt.ones(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightFileError, match="x.pt"):
        nt.load(path)
