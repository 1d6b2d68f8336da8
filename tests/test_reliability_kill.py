"""The fine-tuning recipe survives being killed: SIGKILL at random points never leaves an
unreadable checkpoint, SIGINT saves one and exits 130, and ``--resume auto`` finishes with
weights, optimizer state and metrics history bit-identical to an uninterrupted run, with
and without augmentation and feature caching."""
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import assert_same_tree
from test_recipe import _make_npz

import nanotorch as nt
from recipes import finetune

ROOT = Path(__file__).resolve().parent.parent
EPOCHS = 3
CK = "checkpoint.safetensors"
RECORDS = ("metrics.jsonl", "metrics.csv", "confusion.json", "curves.png", "confusion.png")
MODES = {  # how each run trains; "plain" is the default of these tests
    "plain": ("--freeze", "layer3", "--cache-features", "off"),
    "augment": ("--freeze", "layer3", "--augment"),
    "cached": ("--freeze", "backbone", "--cache-features", "on"),
}
_REFERENCES = {}  # mode -> (final checkpoint, seconds the uninterrupted subprocess took)


def _argv(data, out, *extra, mode="plain"):
    return ["--model", "resnet18", "--weights", "none", "--data", str(data), "--image-size", "32",
            "--epochs", str(EPOCHS), "--batch-size", "16", "--lr", "0.05", *MODES[mode],
            "--out", str(out), *extra]


def _spawn(data, out, *extra, mode="plain", stdout=subprocess.DEVNULL,
           stderr=subprocess.DEVNULL):
    return subprocess.Popen([sys.executable, "-m", "recipes.finetune",
                             *_argv(data, out, *extra, mode=mode)],
                            cwd=ROOT, stdout=stdout, stderr=stderr)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _make_npz(tmp_path_factory.mktemp("data") / "tiny.npz")


def _reference(mode, data, tmp_path_factory):
    """Final checkpoint of an uninterrupted run and its wall time (a subprocess, timed to
    place the kills)."""
    if mode not in _REFERENCES:
        out = tmp_path_factory.mktemp(f"ref-{mode}")
        t0 = time.monotonic()
        assert _spawn(data, out, "--quiet", mode=mode).wait(timeout=120) == 0
        _REFERENCES[mode] = nt.load(out / CK), time.monotonic() - t0
    return _REFERENCES[mode]


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """Final model weights of an uninterrupted run of the plain mode."""
    return _reference("plain", data, tmp_path_factory)[0]["model"]


def _check_complete(path, reference):
    ck = nt.load(path)
    assert set(ck) >= {"model", "optimizer", "epoch", "step", "metrics", "rng", "args"}
    assert 0 <= int(ck["epoch"]) <= EPOCHS
    assert set(ck["model"]) == set(reference)
    for k, v in reference.items():
        assert tuple(ck["model"][k].shape) == tuple(v.shape), k
        assert ck["model"][k].dtype == v.dtype, k
    assert "state" in ck["optimizer"] and "param_groups" in ck["optimizer"]
    return ck


def _assert_same_weights(out, reference):
    final = nt.load(out / CK)
    assert int(final["epoch"]) == EPOCHS
    for k, v in reference.items():
        # bit-identical (NaN-safe): compare the raw bytes
        assert final["model"][k].numpy().tobytes() == v.numpy().tobytes(), k


@pytest.mark.parametrize("mode, seed", [("plain", 0), ("plain", 1), ("plain", 2),
                                        ("augment", 0), ("augment", 1), ("cached", 0),
                                        ("cached", 1)])
def test_sigkill_at_random_point_then_resume(mode, seed, data, tmp_path, tmp_path_factory):
    reference, wall = _reference(mode, data, tmp_path_factory)
    # somewhere between start-up and the last epoch's save
    delay = random.Random(seed).uniform(0.3, 1.0) * wall
    proc = _spawn(data, tmp_path, "--quiet", mode=mode)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    path = tmp_path / CK
    if path.exists():
        _check_complete(path, reference["model"])
    # a killed save may leave its temp file behind; it must not disturb loading or resuming
    kept = (CK, "best.safetensors", ".lock", *RECORDS)
    leftovers = [p for p in tmp_path.iterdir() if p.name not in kept]
    assert all(p.name.endswith((".tmp", ".tmpd")) for p in leftovers), leftovers
    finetune.train(finetune.parse_args(_argv(data, tmp_path, "--resume", "auto", "--quiet",
                                             mode=mode)))
    # weights, optimizer state, metrics history and generator state: all bit for bit
    assert_same_tree(reference, nt.load(tmp_path / CK), "checkpoint")
    assert not [p for p in tmp_path.iterdir()
                if p.name.endswith((".tmp", ".tmpd"))]  # removed at start


def test_sigint_saves_checkpoint_exits_130_and_resumes(data, reference, tmp_path):
    err = tmp_path / "stderr.txt"
    with open(err, "wb") as fh:
        proc = _spawn(data, tmp_path / "run", stdout=subprocess.PIPE, stderr=fh)
        try:
            deadline = time.monotonic() + 40
            line = b""
            # epoch 1 is done (its line is printed after its checkpoint): interrupt epoch 2
            while not line.startswith(b"epoch 1/") and time.monotonic() < deadline:
                line = proc.stdout.readline()
                assert line, "recipe ended before finishing epoch 1"
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
    assert rc == 130, err.read_text()
    assert "interrupted: checkpoint saved" in err.read_text()
    ck = _check_complete(tmp_path / "run" / CK, reference)
    assert int(ck["epoch"]) in (1, 2)
    finetune.train(finetune.parse_args(_argv(data, tmp_path / "run", "--resume", "auto",
                                             "--quiet")))
    final = nt.load(tmp_path / "run" / CK)
    assert int(final["epoch"]) == EPOCHS
    # SIGINT is acted on between steps; an interrupt inside a step keeps the last
    # checkpoint (test_interrupt_mid_step_resumes_identically)
    _check_complete(tmp_path / "run" / CK, reference)


def test_interrupt_mid_step_resumes_identically(data, reference, tmp_path, monkeypatch):
    # deterministic SIGINT: KeyboardInterrupt from the loss of epoch 2's first step
    calls = [0]
    orig = finetune.F.cross_entropy

    def ce(*a, **k):
        calls[0] += 1
        if calls[0] == 5:  # epoch 1: 3 training steps + 1 test batch
            raise KeyboardInterrupt
        return orig(*a, **k)

    monkeypatch.setattr(finetune.F, "cross_entropy", ce)
    with pytest.raises(SystemExit) as e:
        finetune.train(finetune.parse_args(_argv(data, tmp_path, "--quiet")))
    assert e.value.code == 130
    monkeypatch.setattr(finetune.F, "cross_entropy", orig)
    finetune.train(finetune.parse_args(_argv(data, tmp_path, "--resume", "auto", "--quiet")))
    _assert_same_weights(tmp_path, reference)
