"""nanotorch.save / load: flat state dicts interoperable with safetensors, nested
checkpoints, torch files read safely, atomic replacement."""

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.io import WeightFileError


def test_flat_state_dict_is_plain_safetensors(tmp_path):
    sd = {"w": nt.randn(3, 4), "b": nt.arange(4), "m": nt.tensor([True, False])}
    nt.save(sd, tmp_path / "a.safetensors", metadata={"note": "hi"})
    back = nt.load(tmp_path / "a.safetensors")
    assert list(back) == ["w", "b", "m"]
    for k in sd:
        assert back[k].dtype is sd[k].dtype and np.array_equal(back[k].numpy(), sd[k].numpy())
    assert nt.serialization.load_metadata(tmp_path / "a.safetensors") == {"note": "hi"}
    st = pytest.importorskip("safetensors.numpy")
    assert set(st.load_file(str(tmp_path / "a.safetensors"))) == {"w", "b", "m"}


def test_nested_checkpoint_round_trip(tmp_path):
    model = nt.nn.Linear(3, 2)
    opt = nt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(nt.randn(4, 3)).sum().backward()
    opt.step()
    ck = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "metrics": {"acc": 0.5, "history": [1.0, float("inf")]},
        "betas": (0.9, 0.99),
        "name": None,
    }
    nt.save(ck, tmp_path / "ck.safetensors")
    back = nt.load(tmp_path / "ck.safetensors")
    assert back["epoch"] == 3 and back["betas"] == (0.9, 0.99) and back["name"] is None
    assert back["metrics"]["history"][1] == float("inf")
    opt2 = nt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(back["optimizer"])
    buf = opt2.state[model.weight]["momentum_buffer"]
    assert np.array_equal(buf.numpy(), opt.state[model.weight]["momentum_buffer"].numpy())
    with pytest.raises(TypeError, match="cannot store"):
        nt.save({"f": object()}, tmp_path / "bad.safetensors")


def test_load_reads_torch_files(tmp_path):
    torch = pytest.importorskip("torch")
    sd = {"a": torch.randn(2, 3), "b": torch.arange(5)}
    torch.save(sd, tmp_path / "t.pth")
    back = nt.load(tmp_path / "t.pth")
    assert np.array_equal(back["a"].numpy(), sd["a"].numpy())
    assert back["b"].dtype is nt.int64


def test_save_is_atomic_and_corruption_is_reported(tmp_path):
    path = tmp_path / "x.safetensors"
    nt.save({"a": nt.ones(3)}, path)
    with pytest.raises(TypeError):
        nt.save({"a": nt.ones(3), "bad": object()}, path)
    assert np.array_equal(nt.load(path)["a"].numpy(), np.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["x.safetensors"]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightFileError):
        nt.load(path)


def test_zero_dim_and_non_contiguous_tensors_keep_their_shape(tmp_path):
    sd = {"n": nt.tensor(7), "t": nt.arange(6).reshape(2, 3).t()}
    nt.save(sd, tmp_path / "z.safetensors")
    back = nt.load(tmp_path / "z.safetensors")
    assert back["n"].shape == () and back["n"].item() == 7
    assert np.array_equal(back["t"].numpy(), sd["t"].numpy())


def test_mmap_load_maps_the_tensors_copy_on_write(tmp_path):
    import io
    import mmap

    sd = {"w": nt.randn(64, 32), "m": nt.tensor([True, False]), "n": nt.tensor(3),
          "e": nt.zeros(0, 2), "i": nt.arange(5)}
    path = tmp_path / "m.safetensors"
    nt.save({"model": sd, "epoch": 2}, path)
    before = path.read_bytes()
    got = nt.load(path, mmap=True)
    assert got["epoch"] == 2
    for k, t in sd.items():
        assert got["model"][k].dtype is t.dtype
        np.testing.assert_array_equal(got["model"][k].numpy(), t.numpy())
    owner = got["model"]["w"].numpy()
    while not isinstance(owner, mmap.mmap):
        owner = owner.base
    got["model"]["w"].numpy()[0, 0] = 1234.0  # private to this process
    assert path.read_bytes() == before
    raw = bytearray(before)
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(WeightFileError, match="checksum mismatch"):
        nt.load(path, mmap=True)
    with pytest.raises(ValueError, match="file name"):
        nt.load(io.BytesIO(before), mmap=True)
    nt.save(sd, tmp_path / "t.pt")
    with pytest.raises(ValueError, match="supported for safetensors files"):
        nt.load(tmp_path / "t.pt", mmap=True)
