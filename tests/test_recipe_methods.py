"""The recipe's ``--method`` runs: partial freezing with cached features (the same weights as
without caching, the frozen prefix run once per image), LoRA (adapter file that rebuilds the
trained model, merge), BitFit and norm-only (only their parameters change)."""
import numpy as np
import pytest
from helpers import float32_atol, network_terms
from test_recipe import _make_npz

import nanotorch as nt
from nanotorch import models
from nanotorch.utils.finetune import is_norm_layer
from nanotorch.utils.peft import ADAPTER_KEYS, apply_lora, load_lora_state_dict, merge_lora
from recipes import finetune


def _args(out, data, *extra):
    return finetune.parse_args(["--model", "resnet18", "--weights", "none", "--data",
                                str(data), "--image-size", "32", "--epochs", "2",
                                "--batch-size", "16", "--lr", "0.5", "--quiet",
                                "--out", str(out), *extra])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _make_npz(tmp_path_factory.mktemp("data") / "tiny.npz")


def test_method_and_freeze_flags_agree():
    assert finetune.parse_args([]).method == "head"
    assert finetune.parse_args(["--freeze-epochs", "1"]).method == "full"
    assert finetune.parse_args(["--freeze", "layer3"]).method == "partial"
    assert finetune.parse_args(["--method", "full"]).freeze == "none"
    assert finetune.parse_args(["--method", "bitfit"]).freeze == "backbone"
    for bad in (["--method", "partial"], ["--method", "head", "--freeze", "none"],
                ["--method", "lora", "--freeze", "layer3"], ["--lora-r", "0"],
                ["--lora-dropout", "1"], ["--lr-decay", "0"], ["--freeze-epochs", "-1"],
                ["--method", "bitfit", "--freeze-epochs", "1"],
                ["--freeze-epochs", "1", "--scheduler", "cosine"]):
        with pytest.raises(SystemExit):
            finetune.parse_args(bad)


def test_partial_freeze_caches_the_prefix_once_with_the_same_result(tmp_path, data,
                                                                   monkeypatch):
    images = []  # images through the first (frozen) convolution
    build = finetune.build_model

    def counting(args, num_classes):
        model, frozen = build(args, num_classes)
        model.conv1.register_forward_hook(lambda m, i, out: images.append(len(out)))
        return model, frozen

    monkeypatch.setattr(finetune, "build_model", counting)
    # a small rate: layer4's BatchNorms see 1x1 maps of 16 images, and a large step would
    # amplify the features' rounding differences (other batch sizes) beyond float32 error
    flags = ("--freeze", "layer3", "--lr", "0.01", "--cache-features")
    cached = finetune.train(_args(tmp_path / "c", data, *flags, "on"))
    through_cached, images[:] = sum(images), []
    plain = finetune.train(_args(tmp_path / "p", data, *flags, "off"))
    assert cached["cached_features"] and not plain["cached_features"]
    # once per image, plus the split's check on 4 images (model and parts); without the
    # cache every epoch and evaluation runs it again
    assert sum(images) >= 2 * (48 + 24) and through_cached == 48 + 24 + 2 * 4
    a = nt.load(tmp_path / "c" / "checkpoint.safetensors")["model"]
    b = nt.load(tmp_path / "p" / "checkpoint.safetensors")["model"]
    assert a["layer4.0.bn1.num_batches_tracked"].item() == 6  # 2 epochs x 3 steps
    assert a["layer3.0.bn1.num_batches_tracked"].item() == 0  # frozen: eval mode
    for k, ref in b.items():
        ref = ref.numpy()
        # features from batches of 128 vs 16 (other summation orders), then 6 steps
        atol = float32_atol(np.abs(ref).max() + 1, 6 * network_terms(b))
        np.testing.assert_allclose(a[k].numpy(), ref, rtol=0, atol=atol, err_msg=k)


def test_lora_recipe_saves_adapters_that_rebuild_the_trained_model(tmp_path, data):
    targets = ["layer4.1.conv1", "layer4.1.conv2"]
    result = finetune.train(_args(tmp_path, data, "--method", "lora", "--lora-r", "2",
                                  "--lora-alpha", "4", "--lora-targets", ",".join(targets),
                                  "--lr", "0.05"))
    # per 3x3 conv 512 -> 512: A is 2 x 512 x 3 x 3, B is 512 x 2; the new head 512 x 3 + 3
    assert result["trainable_params"] == 2 * (2 * 512 * 9 + 512 * 2) + 512 * 3 + 3
    adapters = nt.load(result["lora_adapters"])
    assert set(adapters) == {f"{t}.lora_{ab}.weight" for t in targets for ab in "AB"} | {
        "fc.weight", "fc.bias"}
    trained = nt.load(tmp_path / "checkpoint.safetensors")["model"]

    def fresh():
        m = models.get_model("resnet18", num_classes=3)
        apply_lora(m, r=2, alpha=4, target_modules=targets, exclude=["fc"])
        return m

    model = fresh()
    model.load_state_dict(trained)
    model.eval()
    rebuilt = fresh()  # the base weights from elsewhere (here the same), adapters from file
    rebuilt.load_state_dict({k: v for k, v in trained.items()
                             if not any(s in "." + k for s in ADAPTER_KEYS)
                             and not k.startswith("fc.")}, strict=False)
    load_lora_state_dict(rebuilt, adapters)
    rebuilt.eval()
    x = nt.randn(2, 3, 32, 32)
    with nt.no_grad():
        expected = model(x).numpy()
        assert np.isfinite(expected).all()
        np.testing.assert_array_equal(rebuilt(x).numpy(), expected)
        merge_lora(rebuilt)
        atol = float32_atol(np.abs(expected).max(), network_terms(rebuilt, passes=1))
        np.testing.assert_allclose(rebuilt(x).numpy(), expected, rtol=0, atol=atol)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A weight file standing for pretrained weights, so the untouched tensors can be told."""
    nt.manual_seed(1)
    base = models.get_model("resnet18")
    path = tmp_path_factory.mktemp("weights") / "resnet18.safetensors"
    nt.save(base.state_dict(), path)
    return path, {k: v.numpy().copy() for k, v in base.state_dict().items()}


@pytest.mark.parametrize("method", ["bitfit", "norm"])
def test_bitfit_and_norm_recipes_train_only_their_subset(tmp_path, data, pretrained, method):
    path, before = pretrained
    result = finetune.train(_args(tmp_path, data, "--weights", str(path), "--method", method,
                                  "--epochs", "1"))
    model = models.get_model("resnet18")
    norm = {f"{n}.{w}" for n, m in model.named_modules() if is_norm_layer(m)
            for w in ("weight", "bias")}
    subset = ({k for k in before if k.endswith(".bias")} if method == "bitfit" else norm)
    assert result["trainable_params"] == sum(before[k].size for k in subset
                                             if not k.startswith("fc.")) + 512 * 3 + 3
    after = nt.load(tmp_path / "checkpoint.safetensors")["model"]
    for k, v in before.items():
        if k.startswith("fc."):
            continue
        changed = not np.array_equal(after[k].numpy(), v)
        assert changed == (k in subset), k  # BatchNorm statistics stay as loaded


def test_feature_disk_cache_skips_extraction_in_a_second_run(tmp_path, data, monkeypatch):
    images = []
    build = finetune.build_model

    def counting(args, num_classes):
        model, frozen = build(args, num_classes)
        model.conv1.register_forward_hook(lambda m, i, out: images.append(len(out)))
        return model, frozen

    monkeypatch.setattr(finetune, "build_model", counting)
    store = tmp_path / "features"
    flags = ("--freeze", "layer2", "--epochs", "1", "--feature-cache", str(store))
    first = finetune.train(_args(tmp_path / "a", data, *flags))
    assert first["features_from_disk"] == 0 and len(list(store.iterdir())) == 2
    images.clear()
    second = finetune.train(_args(tmp_path / "b", data, *flags))
    assert second["features_from_disk"] == 2 and sum(images) == 0  # the prefix never ran
    a = nt.load(tmp_path / "a" / "checkpoint.safetensors")["model"]
    b = nt.load(tmp_path / "b" / "checkpoint.safetensors")["model"]
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)
    # other data, preprocessing or frozen weights: other keys, extracted afresh
    other = finetune.train(_args(tmp_path / "c", data, *flags, "--image-size", "24"))
    assert other["features_from_disk"] == 0 and len(list(store.iterdir())) == 4
    third = finetune.train(_args(tmp_path / "d", data, *flags, "--freeze", "layer3"))
    assert third["features_from_disk"] == 0 and len(list(store.iterdir())) == 6


def test_lr_find_on_cached_features_reports_and_trains_nothing(tmp_path, data):
    result = finetune.train(_args(tmp_path, data, "--lr-find"))
    report = result["lr_find"]
    assert len(report["lrs"]) >= 10 and report["lrs"][0] < report["suggestion"] < 10
    assert (tmp_path / "lr_find.json").is_file()
    assert not (tmp_path / "checkpoint.safetensors").exists()


def _group_lrs(out):
    return [g["lr"] for g in nt.load(out / "checkpoint.safetensors")["optimizer"]["param_groups"]]


def test_gradual_unfreezing_then_discriminative_rates(tmp_path, data, pretrained):
    path, before = pretrained
    flags = ("--weights", str(path), "--freeze-epochs", "1", "--lr", "0.01", "--lr-decay",
             "0.5")
    finetune.train(_args(tmp_path, data, *flags, "--epochs", "1"))
    after = nt.load(tmp_path / "checkpoint.safetensors")["model"]
    for k, v in before.items():  # epoch 1: the backbone frozen, in eval mode
        if not k.startswith("fc."):
            np.testing.assert_array_equal(after[k].numpy(), v, err_msg=k)
    assert _group_lrs(tmp_path) == [0.0, 0.0, 0.01]
    finetune.train(_args(tmp_path, data, *flags, "--epochs", "2", "--resume", "auto"))
    after = nt.load(tmp_path / "checkpoint.safetensors")["model"]
    assert not np.array_equal(after["conv1.weight"].numpy(), before["conv1.weight"])
    assert after["bn1.num_batches_tracked"].item() == 3  # one epoch of 3 steps in training
    assert _group_lrs(tmp_path) == [0.00125, 0.0025, 0.005]  # from --lr / 2, halving
    full = tmp_path / "full"
    finetune.train(_args(full, data, "--method", "full", "--lr-decay", "0.5", "--epochs", "1",
                         "--lr", "0.01"))
    assert _group_lrs(full) == [0.0025, 0.005, 0.01]


def test_count_params_counts_what_each_method_trains(capsys):
    from recipes import count_params
    common = ["--model", "resnet18", "--num-classes", "3", "--image-size", "32", "--depth", "1"]
    head = 512 * 3 + 3
    trainable, total = count_params.main(common + ["--method", "lora", "--lora-r", "2",
                                                   "--lora-targets", "layer4.1.conv1"])
    assert trainable == 2 * 512 * 9 + 512 * 2 + head
    assert "resnet18 (lora): 11,779 trainable" in capsys.readouterr().out
    model = models.get_model("resnet18", num_classes=3)
    biases = sum(p.numel() for n, p in model.named_parameters() if n.endswith(".bias"))
    assert count_params.main(common + ["--method", "bitfit"])[0] == biases + 512 * 3
    assert count_params.main(common)[0] == total - 2 * 512 * 9 - 512 * 2  # none frozen
    assert count_params.main(common + ["--freeze", "backbone"])[0] == head


def test_partial_caching_falls_back_where_the_model_cannot_be_split():
    from argparse import Namespace

    from nanotorch.models._shape_only import uninitialized
    from recipes import methods
    with uninitialized():
        vit = models.get_model("vit_b_16")  # class token and positions between its children
    args = Namespace(method="partial", freeze="encoder.layers.encoder_layer_5", augment=False,
                     freeze_epochs=0, cache_features="auto")
    assert methods.cache_point(vit, args) is None
    args.cache_features = "on"
    with pytest.raises(ValueError, match="cannot split VisionTransformer"):
        methods.cache_point(vit, args)
    args.freeze, args.cache_features = "layer2", "auto"
    assert methods.cache_point(models.get_model("resnet18"), args) == "layer2"


def test_resume_refuses_other_method_options(tmp_path, data):
    flags = ("--method", "lora", "--lora-targets", "layer4.1.conv2", "--lr", "0.05")
    finetune.train(_args(tmp_path, data, *flags, "--epochs", "1"))
    with pytest.raises(ValueError, match="made with --lora-r 8, this run uses 4"):
        finetune.train(_args(tmp_path, data, *flags, "--lora-r", "4", "--resume", "auto"))
    result = finetune.train(_args(tmp_path, data, *flags, "--resume", "auto"))
    assert len(result["history"]) == 2
