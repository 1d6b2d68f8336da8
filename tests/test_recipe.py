"""The fine-tuning recipe end to end on a tiny synthetic dataset: learns above chance,
checkpoints, resumes identically, caches features with the same result."""
import numpy as np
import pytest
from helpers import float32_atol, network_terms

import nanotorch as nt
from recipes import finetune


def _make_npz(path, n_train=48, n_test=24, size=16, seed=0):
    rng = np.random.default_rng(seed)

    def images(n):
        y = np.arange(n) % 3
        x = np.empty((n, size, size), np.uint8)
        for i, c in enumerate(y):
            base = rng.normal(0, 12, (size, size))
            if c == 0:
                img = 50 + base
            elif c == 1:
                img = 200 + base
            else:
                img = np.where((np.arange(size) // 2) % 2 == 0, 30, 220)[None, :] + base
            x[i] = np.clip(img, 0, 255)
        return x, y.astype(np.int64)

    x_train, y_train = images(n_train)
    x_test, y_test = images(n_test)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             classes=np.array(["dark", "bright", "stripes"]))
    return path


def _args(tmp_path, data, *extra):
    return finetune.parse_args(["--model", "resnet18", "--weights", "none", "--data",
                                str(data), "--image-size", "32", "--epochs", "2",
                                "--batch-size", "16", "--lr", "0.5", "--quiet",
                                "--out", str(tmp_path / "run"), *extra])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _make_npz(tmp_path_factory.mktemp("data") / "tiny.npz")


def test_recipe_learns_and_checkpoints(tmp_path, data):
    result = finetune.train(_args(tmp_path, data))
    assert result["cached_features"]
    assert result["trainable_params"] == 512 * 3 + 3
    assert result["test_acc"] > 0.5  # chance is 1/3
    ck = nt.load(tmp_path / "run" / "checkpoint.safetensors")
    assert ck["epoch"] == 2 and "fc.weight" in ck["model"]
    best = nt.load(tmp_path / "run" / "best.safetensors")
    assert best["fc.weight"].shape == (3, 512)


def test_resume_continues_identically(tmp_path, data):
    full = tmp_path / "full"
    finetune.train(_args(full, data))
    part = tmp_path / "part"
    finetune.train(_args(part, data, "--epochs", "1"))
    finetune.train(_args(part, data, "--resume", "auto"))
    a = nt.load(full / "run" / "checkpoint.safetensors")["model"]
    b = nt.load(part / "run" / "checkpoint.safetensors")["model"]
    for k in a:
        assert np.array_equal(a[k].numpy(), b[k].numpy()), k


def test_cached_features_match_plain_loop(tmp_path, data):
    cached = finetune.train(_args(tmp_path / "c", data, "--cache-features", "on"))
    plain = finetune.train(_args(tmp_path / "p", data, "--cache-features", "off"))
    assert not plain["cached_features"]
    a = nt.load(tmp_path / "c" / "run" / "checkpoint.safetensors")["model"]
    b = nt.load(tmp_path / "p" / "run" / "checkpoint.safetensors")["model"]
    # features from batches of 128 vs 16 (other summation orders), then 2 epochs x 3 steps
    expected = b["fc.weight"].numpy()
    atol = float32_atol(np.abs(expected).max(), 6 * network_terms(b))
    np.testing.assert_allclose(a["fc.weight"].numpy(), expected, rtol=0, atol=atol)
    assert cached["test_acc"] == pytest.approx(plain["test_acc"], abs=1 / 24 + 1e-9)


def test_bad_arguments_are_clear(tmp_path, data):
    with pytest.raises(SystemExit):
        finetune.parse_args(["--epochs", "0"])
    with pytest.raises(ValueError, match="needs --freeze backbone"):
        finetune.train(_args(tmp_path, data, "--freeze", "none", "--cache-features", "on"))
    with pytest.raises(FileNotFoundError):
        finetune.train(_args(tmp_path, tmp_path / "missing.npz"))


def test_check_nan_stops_a_diverging_run_before_saving_it(tmp_path, data):
    with pytest.raises(FloatingPointError, match=r"loss became (nan|inf) at epoch 1 step"):
        finetune.train(_args(tmp_path, data, "--epochs", "3", "--lr", "1e38", "--check-nan"))
    for name in ("checkpoint.safetensors", "best.safetensors"):
        path = tmp_path / "run" / name
        if path.exists():  # whatever was saved holds finite weights only
            ck = nt.load(path)
            for v in (ck["model"] if "model" in ck else ck).values():
                assert np.isfinite(v.numpy()).all()
