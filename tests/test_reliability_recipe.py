"""The fine-tuning recipe against careless and hostile input: huge labels and sizes are
refused before allocating, augmented runs are reproducible and resume bit for bit (weights,
optimizer state, metrics), a lone last sample never reaches a trained BatchNorm, two runs
cannot share an output folder, bad arguments and checkpoints give one clear line, a double
Ctrl-C exits cleanly, and temp files of killed saves are removed."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_same_tree
from test_recipe import _make_npz

import nanotorch as nt
from nanotorch.io.atomic import remove_stale_temps
from recipes import finetune
from recipes.lock import RunLock, RunLockedError
from recipes.memory import MemoryEstimateError, available_memory, check_fits

ROOT = Path(__file__).resolve().parent.parent
CK = "checkpoint.safetensors"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _make_npz(tmp_path_factory.mktemp("data") / "tiny.npz")


def _argv(data, out, *extra):
    return ["--model", "resnet18", "--weights", "none", "--data", str(data), "--image-size", "32",
            "--epochs", "2", "--batch-size", "16", "--lr", "0.05", "--quiet", "--out", str(out),
            *extra]


def _train(data, out, *extra):
    return finetune.train(finetune.parse_args(_argv(data, out, *extra)))


def _npz(path, x_train, y_train, x_test=None, y_test=None, **more):
    x_test = x_train[:4] if x_test is None else x_test
    y_test = y_train[:4] if y_test is None else y_test
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, **more)
    return path


def _images(n, h=8, w=8):
    return np.random.default_rng(0).integers(0, 256, (n, h, w), dtype=np.uint8)


def _cli(*argv, timeout=120):
    """Run the recipe as a command: (exit status, stderr lines)."""
    proc = subprocess.run([sys.executable, "-m", "recipes.finetune", *map(str, argv)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    return proc.returncode, [line for line in proc.stderr.splitlines() if line.strip()]


# 1. one bad label / one huge size must not take the machine down ------------------------------


def test_huge_sparse_label_is_refused_naming_label_count_and_file(tmp_path):
    y = np.array([0, 1, 2, 10**9] * 4)
    path = _npz(tmp_path / "bad.npz", _images(16), y)
    with pytest.raises(ValueError, match=r"label 1000000000 but only 4 distinct labels") as e:
        _train(path, tmp_path / "run")
    assert str(path) in str(e.value) and "--num-classes" in str(e.value)
    assert "'classes' array" in str(e.value)


def test_label_outside_classes_array_or_num_classes(tmp_path):
    y = np.array([0, 1, 2, 10**9] * 4)
    path = _npz(tmp_path / "named.npz", _images(16), y, classes=np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match=r"label 1000000000 in 'y_train' is out of range for 3 "
                                         r"classes \(from its 'classes' array\)"):
        _train(path, tmp_path / "run")
    dense = _npz(tmp_path / "dense.npz", _images(16), np.arange(16) % 4)
    with pytest.raises(ValueError, match=r"label 3 in 'y_train' is out of range for 3 classes "
                                         r"\(from --num-classes\)"):
        _train(dense, tmp_path / "run", "--num-classes", "3")


def test_huge_image_size_is_refused_with_the_estimate(data, tmp_path):
    with pytest.raises(MemoryEstimateError, match=r"--image-size 100000 .* needs about [\d.]+ "
                                                  r"(TiB|PiB) of memory, but only"):
        _train(data, tmp_path / "run", "--image-size", "100000")


def test_huge_class_count_is_refused_before_building_the_head(data, tmp_path):
    with pytest.raises(MemoryEstimateError, match="1000000000 classes"):
        _train(data, tmp_path / "run", "--num-classes", str(10**9))


def test_memory_check_uses_what_is_available():
    avail = available_memory()
    assert avail is None or avail > 0
    check_fits(1000, "x", available=1001)
    with pytest.raises(MemoryEstimateError, match=r"x needs about 2\.0 KiB of memory, but only "
                                                  r"1\.0 KiB"):
        check_fits(2048, "x", available=1024)


def test_huge_label_from_the_command_line_is_one_line_status_2(tmp_path):
    path = _npz(tmp_path / "bad.npz", _images(16), np.array([0, 1, 2, 10**9] * 4))
    rc, err = _cli("--weights", "none", "--data", path, "--out", tmp_path / "run", "--quiet")
    assert rc == 2 and len(err) == 1, err
    assert err[0].startswith("python -m recipes.finetune: error: --data") and "10000000" in err[0]


# 2 + 3. reproducible augmentation; exact resume of weights, optimizer and metrics ---------------

MODES = {  # extra arguments of each way to run; all are checked to resume bit for bit
    "cached": ("--freeze", "backbone", "--cache-features", "on"),
    "plain": ("--freeze", "backbone", "--cache-features", "off"),
    "augment": ("--freeze", "backbone", "--augment"),
    "dropout+bn": ("--model", "mobilenet_v2", "--freeze", "features.17", "--augment"),
}
_REFERENCE = {}


def _reference(mode, data, tmp_path_factory):
    if mode not in _REFERENCE:
        out = tmp_path_factory.mktemp(f"ref-{mode}")
        _train(data, out, *MODES[mode])
        _REFERENCE[mode] = nt.load(out / CK)
    return _REFERENCE[mode]


def _sigint_at_training_step(monkeypatch, n):
    """Send this process SIGINT during the n-th training step (1-based), as Ctrl-C would."""
    orig = finetune.F.cross_entropy
    calls = [0]

    def loss(logits, target, *args, **kwargs):
        if not args and "reduction" not in kwargs:  # the training loss, not evaluation's
            calls[0] += 1
            if calls[0] == n:
                os.kill(os.getpid(), signal.SIGINT)
        return orig(logits, target, *args, **kwargs)

    monkeypatch.setattr(finetune.F, "cross_entropy", loss)
    return orig


@pytest.mark.parametrize("mode, stop", [
    ("cached", 2), ("plain", 3), ("augment", 2), ("augment", 3), ("augment", 5),
    ("dropout+bn", 4)])
def test_ctrl_c_then_resume_is_bit_identical(mode, stop, data, tmp_path, tmp_path_factory,
                                             monkeypatch):
    # 3 steps per epoch: stop 3 comes after an epoch's last step, 2 and 5 mid-epoch
    reference = _reference(mode, data, tmp_path_factory)
    orig = _sigint_at_training_step(monkeypatch, stop)
    with pytest.raises(SystemExit) as e:
        _train(data, tmp_path, *MODES[mode])
    assert e.value.code == 130
    saved = nt.load(tmp_path / CK)
    epoch, step = divmod(stop - 1, 3)
    assert (int(saved["epoch"]), int(saved["step"])) == (epoch, step + 1)
    assert saved["partial"]["seen"] == 16 * (step + 1)  # the epoch's steps so far
    monkeypatch.setattr(finetune.F, "cross_entropy", orig)
    _train(data, tmp_path, *MODES[mode], "--resume", "auto")
    assert_same_tree(reference, nt.load(tmp_path / CK), "checkpoint")


def test_augmented_runs_depend_on_the_seed_only(data, tmp_path):
    # the previous test proves a run reproduces itself; here the augmentation must matter
    a = _train(data, tmp_path / "a", "--augment", "--epochs", "1")["history"]
    b = _train(data, tmp_path / "b", "--augment", "--epochs", "1", "--seed", "1")["history"]
    plain = _train(data, tmp_path / "c", "--epochs", "1", "--cache-features", "off")["history"]
    assert a[0]["train_loss"] != b[0]["train_loss"]
    assert a[0]["train_loss"] != plain[0]["train_loss"]


def test_sample_augmentation_does_not_depend_on_batch_order(data):
    from recipes.data import load_splits

    splits = load_splits(data, 16, augment=True, seed=3)
    train = splits.train
    train.set_epoch(1)
    forward = [train[i][0].numpy() for i in range(6)]
    backward = [train[i][0].numpy() for i in reversed(range(6))][::-1]
    assert all(np.array_equal(x, y) for x, y in zip(forward, backward))
    train.set_epoch(2)
    assert not all(np.array_equal(x, train[i][0].numpy()) for i, x in enumerate(forward))


def test_resume_with_another_seed_or_augmentation_is_refused(data, tmp_path):
    _train(data, tmp_path, "--epochs", "1", "--augment")
    with pytest.raises(ValueError, match="made with --seed 0, this run uses 1"):
        _train(data, tmp_path, "--augment", "--resume", "auto", "--seed", "1")
    with pytest.raises(ValueError, match="made with --augment True, this run uses False"):
        _train(data, tmp_path, "--resume", "auto")


# 4. a last batch of one sample never reaches a trained BatchNorm --------------------------------


def test_lone_last_sample_with_trained_batchnorm(data, tmp_path):
    # 33 = 2 * 16 + 1: the lone 33rd (shuffled) sample is left out of each epoch
    result = _train(data, tmp_path, "--freeze", "none", "--train-limit", "33", "--epochs", "1")
    assert np.isfinite(result["history"][0]["train_loss"])
    ck = nt.load(tmp_path / CK)
    assert int(ck["epoch"]) == 1
    with pytest.raises(ValueError, match="training split has 1 image"):
        _train(data, tmp_path / "one", "--freeze", "none", "--train-limit", "1")


# 5. one run per output folder ------------------------------------------------------------------

_HOLDER = ("import sys, time; from recipes.lock import RunLock; "
           "RunLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(120)")


def _hold_lock(out):
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_run_on_a_locked_out_refuses_naming_the_other(data, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    stale = out / ".checkpoint.safetensors.0123456789ab.tmp"
    stale.write_bytes(b"partial")  # could be the holder's save in progress: must survive
    holder = _hold_lock(out)
    try:
        rc, err = _cli(*_argv(data, out))
        assert rc == 2 and len(err) == 1, err
        assert f"in use by another run (pid {holder.pid}" in err[0]
        assert "recipes.lock" in err[0]  # its command
        assert stale.exists() and not (out / CK).exists()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    # the killed holder's lock is released by the kernel: the next run takes it over
    _train(data, out, "--epochs", "1")
    assert (out / CK).exists() and not stale.exists()
    err = capsys.readouterr().err
    assert f"locked by run pid {holder.pid}, which ended without unlocking" in err
    assert "removed 1 temp file(s)" in err


def test_lock_in_one_process_is_exclusive_and_released(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
            RunLock(tmp_path).acquire()
    with RunLock(tmp_path):
        pass


# 6. clear errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("flag, value, expected", [
    ("--lr", "nan", "--lr must be a finite number, got nan"),
    ("--lr", "inf", "--lr must be a finite number, got inf"),
    ("--lr", "0", "--lr must be positive, got 0.0"),
    ("--momentum", "nan", "--momentum must be a finite number"),
    ("--momentum", "-0.5", "--momentum must be non-negative, got -0.5"),
    ("--weight-decay", "-1", "--weight-decay must be non-negative"),
    ("--weight-decay", "inf", "--weight-decay must be a finite number"),
    ("--epochs", "0", "--epochs must be at least 1, got 0"),
    ("--batch-size", "-4", "--batch-size must be at least 1, got -4"),
    ("--image-size", "0", "--image-size must be at least 1"),
    ("--train-limit", "0", "--train-limit must be at least 1, got 0"),
    ("--test-limit", "0", "--test-limit must be at least 1"),
    ("--num-classes", "0", "--num-classes must be at least 1, got 0 (leave it out"),
])
def test_bad_numbers_are_one_line_usage_errors(flag, value, expected, capsys):
    with pytest.raises(SystemExit) as e:
        finetune.parse_args([flag, value])
    assert e.value.code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert expected in err[-1] and err[-1].startswith("python -m recipes.finetune: error:")


def _main_error(capsys, *argv):
    with pytest.raises(SystemExit) as e:
        finetune.main([str(a) for a in argv])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert e.value.code == 2 and len(err) == 1, err
    assert err[0].startswith("python -m recipes.finetune: error: ")
    return err[0]


def test_empty_train_split(tmp_path, capsys):
    path = _npz(tmp_path / "empty.npz", _images(0), np.zeros(0, np.int64),
                x_test=_images(4), y_test=np.arange(4) % 2)
    line = _main_error(capsys, *_argv(path, tmp_path / "run"))
    assert f"--data {path}: the train split has no images" in line


def test_missing_split_is_one_line(tmp_path, capsys):
    path = tmp_path / "no_test.npz"
    np.savez(path, x_train=_images(4), y_train=np.arange(4) % 2)
    line = _main_error(capsys, *_argv(path, tmp_path / "run"))
    assert "has no 'x_test'/'y_test' arrays" in line and str(path) in line


def test_zero_height_images_are_refused_naming_the_file(tmp_path, capsys):
    path = _npz(tmp_path / "flat.npz", _images(8, h=0), np.arange(8) % 2)
    line = _main_error(capsys, *_argv(path, tmp_path / "run"))
    assert str(path) in line and "height 0" in line


def test_resume_from_a_model_file_says_what_it_is(data, tmp_path, capsys):
    _train(data, tmp_path, "--epochs", "1")
    line = _main_error(capsys, *_argv(data, tmp_path, "--resume", tmp_path / "best.safetensors"))
    assert "best.safetensors: this is a model file (weights only" in line
    assert "not a resumable checkpoint; pass --resume auto" in line


@pytest.mark.parametrize("damage", ["truncate", "garbage", "no-rng", "rng-type", "bad-shape"])
def test_damaged_checkpoint_is_one_line_naming_the_file(damage, data, tmp_path, capsys):
    _train(data, tmp_path, "--epochs", "1")
    path = tmp_path / CK
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 64)
    else:
        ck = nt.load(path)
        if damage == "no-rng":
            del ck["rng"]
        elif damage == "rng-type":
            ck["rng"] = "state"
        else:
            ck["model"]["fc.weight"] = nt.zeros(2, 2)
        nt.save(ck, path)
    line = _main_error(capsys, *_argv(data, tmp_path, "--resume", "auto"))
    assert f"--resume {path}" in line
    if damage == "no-rng":
        assert "no 'rng' entry" in line
    if damage == "bad-shape":
        assert "fc.weight" in line


# 8. a double Ctrl-C ends the run cleanly, wherever it lands -------------------------------------


_SECOND_CTRL_C = """
import os, signal, sys, threading, time
import nanotorch as nt
from nanotorch import nn
from recipes.finetune import _DeferredInterrupt
model = nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.Flatten(),
                      nn.Linear(16 * 14 * 14, 4))
x, y = nt.randn(8, 3, 16, 16), nt.tensor([0, 1, 2, 3] * 2)
nn.functional.cross_entropy(model(x), y).backward()  # compiled before the clock starts
interrupt = _DeferredInterrupt(lambda: "stopped at once\\n")
interrupt.install()
interrupt.requested = True  # as after a first Ctrl-C: the next one ends the process
delay = float(sys.argv[1])
threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT)).start()
while True:  # Numba kernels (BatchNorm, ReLU, cross-entropy) take most of each step
    nn.functional.cross_entropy(model(x), y).backward()
"""


def test_second_ctrl_c_inside_numba_kernels_never_raises():
    # Raising KeyboardInterrupt from the handler while a Numba dispatcher runs makes it
    # return a result with the exception set: SystemError (about 1 step in 12 here when
    # SIGINT arrives every 0.5 ms). The handler must end the process without raising.
    for attempt in range(12):
        proc = subprocess.run([sys.executable, "-c", _SECOND_CTRL_C, str(0.05 + 0.013 * attempt)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 130, proc.stderr
        assert proc.stderr == "stopped at once\n", proc.stderr


def test_double_ctrl_c_exits_cleanly(data, tmp_path):
    for attempt in range(4):
        out = tmp_path / str(attempt)
        proc = subprocess.Popen(
            [sys.executable, "-m", "recipes.finetune",
             *_argv(data, out, "--freeze", "layer3", "--cache-features", "off", "--epochs", "50")],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            time.sleep(2.0)  # past start-up: the conv kernels are compiled or being run
            while not (out / CK).exists() and proc.poll() is None:
                time.sleep(0.05)  # training is under way once epoch 1 is saved
            proc.send_signal(signal.SIGINT)
            time.sleep(0.04 * attempt)
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        text = err.decode(errors="replace")
        assert proc.returncode == 130, text
        assert "Traceback" not in text and "SystemError" not in text, text
        assert "interrupted" in text
        nt.load(out / CK)  # what was saved last is intact


# 9. temp files of killed saves ------------------------------------------------------------------


def test_remove_stale_temps_only_removes_atomic_write_temps(tmp_path):
    stale = [tmp_path / ".checkpoint.safetensors.0a1b2c3d4e5f.tmp",
             tmp_path / ".best.safetensors.ffffffffffff.tmp"]
    kept = [tmp_path / "notes.tmp", tmp_path / ".x.12345.tmp", tmp_path / CK,
            tmp_path / ".checkpoint.safetensors.0A1B2C3D4E5F.tmp"]
    for p in stale + kept:
        p.write_bytes(b"x")
    (tmp_path / ".dir.0a1b2c3d4e5f.tmp").mkdir()
    kept += [tmp_path / ".dir.0a1b2c3d4e5f.tmp", tmp_path / "run.tmpd"]
    kept[-1].mkdir()
    # a killed safetensors write: the package's own temp file inside atomic_path's folder
    stale_dir = tmp_path / ".checkpoint.safetensors.00112233aabb.tmpd"
    stale_dir.mkdir()
    (stale_dir / ".tmpAbC123").write_bytes(b"x")
    (stale_dir / "checkpoint.safetensors").write_bytes(b"")
    stale.append(stale_dir)
    assert sorted(remove_stale_temps(tmp_path)) == sorted(str(p) for p in stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)


def test_recipe_start_removes_stale_temps(data, tmp_path):
    tmp_path.joinpath("run").mkdir()
    stale = tmp_path / "run" / ".checkpoint.safetensors.00000000beef.tmp"
    stale.write_bytes(b"\0" * 1024)
    _train(data, tmp_path / "run", "--epochs", "1")
    assert not stale.exists()
