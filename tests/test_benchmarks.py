"""The benchmark workloads W6 (MobileNetV2 head-only step) and recipe (default recipe end to
end vs a plain PyTorch loop), on tiny settings: they train only the head, and the PyTorch
loop sees the recipe's data, weights and frozen-module modes."""
import numpy as np
import pytest

import nanotorch as nt
from benchmarks import recipe_torch, run
from benchmarks.workloads import Workload, _recipe_note, make_recipe, make_w6
from recipes import finetune
from recipes.data import DEFAULT_DATA, load_splits

TINY = ["--epochs", "1", "--train-limit", "96", "--test-limit", "48", "--weights", "none"]


def _snapshot(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _check_head_only_step(step):
    before = _snapshot(step.model)
    loss = step()
    assert np.isfinite(float(loss.item()))
    after = _snapshot(step.model)
    changed = {k for k in before if not np.array_equal(before[k], after[k])}
    # the head learns; frozen weights do not (BatchNorm running stats move: train mode)
    assert {"classifier.1.weight", "classifier.1.bias"} <= changed
    assert all(k.endswith(("running_mean", "running_var", "num_batches_tracked"))
               for k in changed - {"classifier.1.weight", "classifier.1.bias"})
    return after


def test_w6_trains_only_the_head_nanotorch():
    step = make_w6(nt, batch=4, size=32)
    after = _check_head_only_step(step)
    assert after["classifier.1.weight"].shape == (10, 1280)


def test_w6_same_architecture_in_torch():
    torch = pytest.importorskip("torch")
    step = make_w6(torch, batch=4, size=32)
    _check_head_only_step(step)
    shapes_t = {k: tuple(v.shape) for k, v in step.model.state_dict().items()}
    shapes_n = {k: tuple(v.shape) for k, v in make_w6(nt, 4, 32).model.state_dict().items()}
    assert shapes_t == shapes_n


def test_torch_loop_preprocessing_matches_the_recipe():
    splits = load_splits(DEFAULT_DATA, 32, train_limit=40, test_limit=20)
    x_train, y_train, x_test, y_test, classes = recipe_torch.load_data(DEFAULT_DATA, 32, 40, 20)
    train_images, train_labels = splits.train.batch(range(40))
    np.testing.assert_array_equal(x_train, train_images)
    np.testing.assert_array_equal(x_test, splits.test.batch(range(20))[0])
    np.testing.assert_array_equal(y_train, train_labels)
    assert classes == len(splits.classes)


def test_preprocess_rejects_color_images():
    with pytest.raises(ValueError, match=r"grayscale.*\(2, 8, 8, 3\)"):
        recipe_torch.preprocess(np.zeros((2, 8, 8, 3), np.uint8), 16)


def test_recipe_workload_nanotorch_runs_the_recipe():
    result = make_recipe(nt, TINY)()
    assert result["cached_features"]
    assert 0.0 <= result["test_acc"] <= 1.0
    assert _recipe_note(result).startswith("test acc ")


def test_torch_loop_freezes_like_the_recipe():
    torch = pytest.importorskip("torch")
    model, head = recipe_torch.build_model(torch, "mobilenet_v2", "none", 10)
    recipe_torch.set_train_mode(model, head)
    ref, frozen = finetune.build_model(finetune.parse_args(["--weights", "none"]), 10)
    finetune.set_train_mode(ref, frozen)
    trainable = {k for k, p in model.named_parameters() if p.requires_grad}
    assert trainable == {k for k, p in ref.named_parameters() if p.requires_grad}
    assert trainable == {"classifier.1.weight", "classifier.1.bias"}
    # every leaf module (BatchNorm, Dropout, ...) in the same mode as in the recipe
    ref_modes = {k: m.training for k, m in ref.named_modules() if not list(m.children())}
    modes = {k: m.training for k, m in model.named_modules() if not list(m.children())}
    assert modes == ref_modes
    assert modes["classifier.1"] and not modes["classifier.0"] and not modes["features.0.1"]


def test_torch_loop_loads_the_recipes_pretrained_weights():
    torch = pytest.importorskip("torch")
    try:
        recipe_torch.weight_file("mobilenet_v2", "IMAGENET1K_V1")
    except FileNotFoundError:
        pytest.skip("MobileNetV2 IMAGENET1K_V1 weights are not installed")
    model, _ = recipe_torch.build_model(torch, "mobilenet_v2", "IMAGENET1K_V1", 10)
    ref, _ = finetune.build_model(finetune.parse_args([]), 10)
    ref_state = ref.state_dict()
    for k, v in model.state_dict().items():
        if not k.startswith("classifier.1"):
            np.testing.assert_array_equal(v.numpy(), ref_state[k].numpy(), err_msg=k)


def test_recipe_workload_torch_loop_runs():
    torch = pytest.importorskip("torch")
    result = make_recipe(torch, TINY)()
    assert not result["cached_features"]
    assert len(result["history"]) == 1 and 0.0 <= result["test_acc"] <= 1.0


def test_torch_loop_refuses_options_it_does_not_mirror():
    with pytest.raises(ValueError, match="default recipe only"):
        recipe_torch.train(None, finetune.parse_args(["--augment"]))


def test_oneshot_workload_is_timed_once_with_its_note():
    calls = []

    def make(lib):
        return lambda: calls.append(1) or {"test_acc": 0.5, "cached_features": False}

    w = Workload("x", "", make, unit="s", oneshot=True, note=_recipe_note)
    seconds, result = run._time(w, nt, repeat=7)
    assert len(calls) == 1 and seconds >= 0.0
    assert w.note(result) == "test acc 50.0%"
    assert run.format_time(w.unit, w.batch, 12.345) == "12.3 s"


def test_expert_script_preprocesses_like_the_recipe():
    torch = pytest.importorskip("torch")
    from benchmarks import recipe_expert_torch as expert
    x_train, y_train, _, _ = expert.load(DEFAULT_DATA, 12, 4)
    splits = load_splits(DEFAULT_DATA, 32, train_limit=12, test_limit=4)
    images, labels = splits.train.batch(range(12))
    np.testing.assert_allclose(expert.normalise(expert.resize(x_train, 32)).numpy(), images,
                               rtol=0, atol=4 * np.finfo(np.float32).eps * np.abs(images).max())
    np.testing.assert_array_equal(y_train.numpy(), labels)
    assert torch.equal(y_train, torch.from_numpy(labels))


def test_recipe_and_expert_processes_report_work_time_and_peak_memory():
    pytest.importorskip("torch")
    from benchmarks.recipe_expert import run_side
    tiny = ["--train-limit", "24", "--test-limit", "8", "--epochs", "1", "--image-size", "16"]
    for side in ("nanotorch", "torch"):
        r = run_side(side, tiny)
        assert 0 < r["work_s"] < r["whole_s"], (side, r)
        assert 50 * 2**20 < r["peak_rss"] < 4 * 2**30, (side, r)
        assert 0 <= r["test_acc"] <= 100, (side, r)
