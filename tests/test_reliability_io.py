"""Hardened loading (issue 12): crafted or corrupt weight files give a WeightFileError naming
the file, in linear time; convert reports unwritable targets in one line; checksums catch
flipped bits."""

import io
import json
import random
import struct
import zipfile

import numpy as np
import pytest
import safetensors.numpy as st_numpy

import nanotorch as nt
from nanotorch.cli import main as cli_main
from nanotorch.io import WeightFileError, torch_file_to_arrays
from nanotorch.io.safetensors_io import STRUCTURE_KEY

M61 = 2**61 - 1  # hash(i * M61) == 0 for every int i: keys that all collide


def _structure_file(path, structure_text, tensors=None):
    """A safetensors file written by the package itself (no nanotorch checksum)."""
    st_numpy.save_file(tensors or {"w": np.ones(2, np.float32)}, str(path),
                       metadata={STRUCTURE_KEY: structure_text})
    return path


def _pt_file(path, pickle_bytes):
    """A zip .pt around a hand-assembled data.pkl."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/byteorder", b"little")
        z.writestr("archive/version", b"3\n")
    return path


def _long1(v):
    raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def _expect_error(path, match=""):
    with pytest.raises(WeightFileError, match=match) as info:
        nt.load(path)
    assert str(path) in str(info.value)
    return info.value


# ----------------------------------------------------------------------------- structure

@pytest.mark.parametrize("text, problem", [
    ("[" * 100_000 + "]" * 100_000, "corrupt checkpoint structure"),      # RecursionError before
    ("[" * 800 + "]" * 800, "nests deeper than"),                         # parses, then recursed
    ('{"a": {"__tensor__": []}}', "names tensor"),                        # TypeError before
    ('{"a": {"__tensor__": "nope"}}', "names tensor 'nope'"),
    ('{"a": {"__tuple__": 5}}', "__tuple__ holds a int"),                 # TypeError before
    ('{"a": {"__dict__": 5}}', "list of \\[key, value\\] pairs"),          # TypeError before
    ('{"a": {"__dict__": [[1]]}}', "list of \\[key, value\\] pairs"),      # ValueError before
    ('{"a": {"__dict__": [[[1, 2], 3]]}}', "not hashable"),               # TypeError before
    ('{"a": {"__float__": "abc"}}', "bad __float__"),                     # ValueError before
    ('{"a": {"__float__": 5}}', "bad __float__"),
    ("{not json", "corrupt checkpoint structure"),
])
def test_corrupt_structure_is_a_weight_file_error(tmp_path, text, problem):
    _expect_error(_structure_file(tmp_path / "s.safetensors", text), problem)


def test_random_structure_corruption_is_always_a_weight_file_error(tmp_path):
    ck = {"model": {"w": nt.ones(2)}, "epoch": 3, "hist": [1.0, float("inf")], "t": (1, 2),
          "ids": {1: "a", (2, 3): "b"}}
    nt.save(ck, tmp_path / "ok.safetensors")
    meta = st_numpy.safe_open(str(tmp_path / "ok.safetensors"), "numpy").metadata()
    text = meta[STRUCTURE_KEY]
    tensors = st_numpy.load_file(str(tmp_path / "ok.safetensors"))
    path = tmp_path / "bad.safetensors"
    for seed in range(150):
        rng = random.Random(seed)
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            chars[rng.randrange(len(chars))] = rng.choice('{}[]",:0123456789_atd ')
        _structure_file(path, "".join(chars), tensors)
        try:
            nt.load(path)
        except WeightFileError as e:
            assert str(path) in str(e), seed


# ----------------------------------------------------------------------------- hash collisions

def test_colliding_keys_in_a_structure_are_refused(tmp_path):
    pairs = [[i * M61, 0] for i in range(20_000)]  # quadratic to build as a dict
    path = _structure_file(tmp_path / "c.safetensors", json.dumps({"d": {"__dict__": pairs}}))
    _expect_error(path, "share one hash value")


def _colliding_items(n):
    return b"".join(_long1(i * M61) + b"K\x00" for i in range(1, n + 1))


@pytest.mark.parametrize("kind", ["setitems", "setitem", "dict", "set", "frozenset", "additems"])
def test_colliding_keys_in_a_pickle_are_refused(tmp_path, kind):
    n = 20_000
    keys = b"".join(_long1(i * M61) for i in range(1, n + 1))
    pkl = {
        "setitems": b"\x80\x02}(" + _colliding_items(n) + b"u.",
        "setitem": b"\x80\x02}" + b"".join(_long1(i * M61) + b"K\x00s" for i in range(1, n + 1))
                   + b".",
        "dict": b"\x80\x02(" + _colliding_items(n) + b"d.",
        "set": b"\x80\x02cbuiltins\nset\n(](" + keys + b"etR.",
        "frozenset": b"\x80\x04(" + keys + b"\x91.",
        "additems": b"\x80\x04\x8f(" + keys + b"\x90.",
    }[kind]
    path = _pt_file(tmp_path / "c.pt", pkl)
    _expect_error(path, "share a hash value")


def test_many_distinct_keys_still_load(tmp_path):
    torch = pytest.importorskip("torch")
    ref = {"ints": {i: i for i in range(50_000)}, "set": set(range(50_000)),
           "w": torch.ones(2)}
    torch.save(ref, tmp_path / "ok.pt")
    got = nt.load(tmp_path / "ok.pt")
    assert got["ints"] == ref["ints"] and got["set"] == ref["set"]


def test_deeply_nested_pickle_is_a_weight_file_error(tmp_path):
    n = 100_000
    path = _pt_file(tmp_path / "deep.pt", b"\x80\x02" + b"]" * n + b"a" * (n - 1) + b".")
    _expect_error(path, "nest")  # RecursionError before


def test_shared_objects_are_converted_once(tmp_path):
    # 20 levels of pairs referring to the level below: 2**20 paths through a tiny file.
    pkl = bytearray(b"\x80\x02]q\x00")
    for i in range(1, 21):
        pkl += b"h" + bytes([i - 1]) + b"h" + bytes([i - 1]) + b"\x86q" + bytes([i])
    pkl += b"."
    got = nt.load(_pt_file(tmp_path / "dag.pt", bytes(pkl)))
    assert got[0] is got[1] and got[0][0] is got[0][1]  # sharing kept, each object once


def test_shared_state_dict_branches_are_refused(tmp_path):
    torch = pytest.importorskip("torch")
    inner = {"w": torch.ones(1)}
    level = inner
    for _ in range(40):
        level = {"a": level, "b": level}
    torch.save(level, tmp_path / "dag.pt")
    with pytest.raises(WeightFileError, match="appears more than once"):
        torch_file_to_arrays(tmp_path / "dag.pt")


# ----------------------------------------------------------------------------- convert CLI

def _one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("where", ["missing_dir", "parent_is_file"])
def test_convert_to_unwritable_path(tmp_path, capsys, where):
    src = tmp_path / "in.pt"
    nt.save({"w": nt.ones(2)}, src)
    (tmp_path / "afile").write_text("x")
    target = tmp_path / ("no/such/dir/out.safetensors" if where == "missing_dir"
                         else "afile/out.safetensors")
    assert cli_main(["convert", str(src), str(target)]) == 2
    err = _one_line_error(capsys)
    assert f"cannot write {target}" in err and ".tmp" not in err


def test_convert_errors_are_one_line_with_status_2(tmp_path, capsys):
    assert cli_main(["convert", str(tmp_path / "missing.pt"), str(tmp_path / "o.st")]) == 2
    assert "missing.pt" in _one_line_error(capsys)
    with pytest.raises(SystemExit) as info:
        cli_main(["convert", "only-one-argument"])
    assert info.value.code == 2
    assert "the following arguments are required" in _one_line_error(capsys)


# ----------------------------------------------------------------------------- file kinds

def _with_header(path, header: bytes, data: bytes):
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return path


def test_safetensors_header_length_with_low_byte_0x80(tmp_path):
    # A valid file whose JSON header starts with white space and is 0x80 bytes long: the
    # first byte is 0x80 like a pickle's, but it is a safetensors file.
    body = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header = b"  " + body + b" " * (0x80 - 2 - len(body))
    path = _with_header(tmp_path / "ws.safetensors", header, np.ones(2, np.float32).tobytes())
    assert path.read_bytes()[0] == 0x80
    np.testing.assert_array_equal(nt.load(path)["a"].numpy(), np.ones(2, np.float32))
    # An absurd length with that low byte is reported as a bad safetensors header length.
    raw = bytearray(path.read_bytes())
    raw[0:8] = struct.pack("<Q", 0x4142_4344_0280)
    path.write_bytes(bytes(raw))
    _expect_error(path, "safetensors header length 71752852177536 .* runs past the end")


# ----------------------------------------------------------------------------- checksum

def _flip(path, offset, bit=0):
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 1 << bit
    path.write_bytes(bytes(raw))


def _data_start(path):
    return 8 + struct.unpack("<Q", path.read_bytes()[:8])[0]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_flipped_bit_in_the_data_is_caught(tmp_path, where):
    path = tmp_path / "ck.safetensors"
    nt.save({"model": {"w": nt.randn(64, 32), "b": nt.zeros(32)}, "epoch": 3}, path)
    start, size = _data_start(path), path.stat().st_size
    _flip(path, {"first": start, "middle": (start + size) // 2, "last": size - 1}[where], 3)
    _expect_error(path, "checksum mismatch")


def test_changed_metadata_is_caught_and_foreign_files_still_load(tmp_path):
    path = tmp_path / "ck.safetensors"
    nt.save({"w": nt.ones(3), "epoch": 3}, path)
    raw = path.read_bytes()
    assert raw.count(b'\\"epoch\\": 3') == 1
    path.write_bytes(raw.replace(b'\\"epoch\\": 3', b'\\"epoch\\": 7'))
    _expect_error(path, "checksum mismatch")
    with pytest.raises(WeightFileError, match="checksum mismatch"):
        nt.load(io.BytesIO(path.read_bytes()))
    st_numpy.save_file({"w": np.ones(3, np.float32)}, str(tmp_path / "foreign.safetensors"))
    assert nt.load(tmp_path / "foreign.safetensors")["w"].shape == (3,)
