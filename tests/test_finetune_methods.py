"""Fine-tuning methods: frozen layers stay in eval mode, model splitting for feature
caching, LoRA (initialisation as torch + peft, merge, adapter-only state dicts), BitFit and
norm-only subsets, discriminative learning rates, gradual unfreezing, lr_find."""
import math
import warnings

import numpy as np
import pytest
from helpers import float32_atol, network_terms

import nanotorch as nt
from nanotorch import models, nn
from nanotorch.nn.lora import LoRAConv2d, LoRALinear
from nanotorch.nn.modules import batchnorm
from nanotorch.utils.data import DataLoader, TensorDataset
from nanotorch.utils.finetune import (
    count_parameters,
    freeze,
    frozen_batchnorm_training,
    head_name,
    is_frozen,
    replace_head,
    trainable_subset,
    unfreeze,
    warn_frozen_batchnorm,
)
from nanotorch.utils.lr_finder import lr_find
from nanotorch.utils.lr_groups import GradualUnfreezing, layer_groups, param_groups
from nanotorch.utils.peft import (
    apply_lora,
    load_lora_state_dict,
    lora_state_dict,
    merge_lora,
    unmerge_lora,
)
from nanotorch.utils.split import split_model


def _small_cnn():
    nt.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Dropout(0.5), nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8),
                         nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                         nn.Linear(8, 3))


def _buffers(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()
            if "running" in k or "num_batches" in k}


# -- frozen means frozen ------------------------------------------------------------------

def test_train_after_freeze_keeps_batchnorm_statistics_and_dropout_off():
    model = _small_cnn()
    frozen = freeze(model, "4")  # conv, bn, relu, dropout, conv frozen; the rest trains
    assert len(frozen) == 5 and all(is_frozen(m) for m in frozen)
    model.train()
    assert not model[1].training and not model[3].training and model[5].training
    before = _buffers(model[1])
    x = nt.randn(4, 3, 8, 8)
    opt = nt.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a marked frozen layer never warns
        loss = model(x).sum()
        loss.backward()
        opt.step()
    for k, v in _buffers(model[1]).items():
        assert np.array_equal(v, before[k]), k
    assert _buffers(model[5])["num_batches_tracked"] == 1  # the trainable BatchNorm trained
    # frozen Dropout is off: the frozen prefix is deterministic in train()
    prefix = nn.Sequential(*list(model)[:4])
    assert np.array_equal(prefix(x).detach().numpy(), prefix(x).detach().numpy())


def test_freeze_covers_parameters_held_by_enclosing_modules():
    from nanotorch.models._shape_only import uninitialized
    with uninitialized():
        vit = models.get_model("vit_b_16")
    freeze(vit, "backbone")  # the class token belongs to the model itself
    assert [n for n, p in vit.named_parameters() if p.requires_grad] == [
        "heads.head.weight", "heads.head.bias"]
    freeze(vit, "encoder.layers.encoder_layer_5")
    trainable = [n for n, p in vit.named_parameters() if p.requires_grad]
    assert "class_token" not in trainable and "encoder.pos_embedding" not in trainable
    assert trainable[0] == "encoder.layers.encoder_layer_6.ln_1.weight"
    unfreeze(vit)
    assert all(p.requires_grad for p in vit.parameters())


def test_unfreeze_restores_normal_training():
    model = _small_cnn()
    freeze(model, "backbone")
    unfreeze(model)
    model.train()
    assert all(m.training for m in model.modules())
    assert all(p.requires_grad for p in model.parameters())
    before = _buffers(model[1])
    model(nt.randn(4, 3, 8, 8))
    assert not np.array_equal(_buffers(model[1])["running_mean"], before["running_mean"])


def test_frozen_batchnorm_is_quiet_by_default_as_torch():
    """A PyTorch-style script that freezes with requires_grad=False and calls train() gets
    no warning (torch gives none); the running statistics change as in torch."""
    model = _small_cnn()
    for p in model.parameters():
        p.requires_grad = False
    model.train()
    assert frozen_batchnorm_training(model) == ["1", "5"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(nt.randn(2, 3, 4, 4))
    assert _buffers(model[1])["num_batches_tracked"] == 1
    freeze(model, "all")
    model.train()
    assert frozen_batchnorm_training(model) == []


def test_frozen_batchnorm_not_marked_warns_once_when_enabled(monkeypatch):
    monkeypatch.setattr(batchnorm, "WARN_FROZEN_STATS", [False])
    warn_frozen_batchnorm()
    assert batchnorm.WARN_FROZEN_STATS == [True]
    bn = nn.BatchNorm2d(4)
    bn.requires_grad_(False)
    x = nt.randn(2, 4, 3, 3)
    with pytest.warns(UserWarning, match="frozen parameters .* running statistics change"):
        bn(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bn(x)  # once per module
        trained = nn.BatchNorm2d(4)
        trained(x)  # trainable parameters: no warning
        bn.eval()
        bn(x)


def test_freeze_after_lora_leaves_adapters_training():
    nt.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    freeze(model, "backbone")
    apply_lora(model, r=2, dropout=0.5, target_modules=["0"])
    model.train()
    assert not model[1].training  # frozen dropout
    assert model[0].lora_dropout.training  # the adapter's own dropout trains


# -- splitting ----------------------------------------------------------------------------

@pytest.mark.parametrize("name,point", [("resnet18", "layer3"), ("mobilenet_v2", "features.10"),
                                        ("squeezenet1_1", "features.5"),
                                        ("densenet121", "features.transition2")])
def test_split_reproduces_the_forward(name, point):
    nt.manual_seed(0)
    model = models.get_model(name, num_classes=5)
    x = nt.randn(2, 3, 32, 32)
    split = split_model(model, point, x)  # verifies itself against model(x)
    model.eval()
    with nt.no_grad():
        expected = model(x).numpy()
        got = split.rest(split.prefix(x)).numpy()
    # the same operations, but a Sequential may fuse conv + batch norm in eval mode
    atol = float32_atol(np.abs(expected).max(), network_terms(model, passes=1))
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)
    assert {id(p) for p in split.rest.parameters()} | {id(p) for p in split.prefix.parameters()} \
        == {id(p) for p in model.parameters()}


def test_split_refuses_inside_a_block_and_a_wrong_forward():
    model = models.get_model("resnet18", num_classes=3)
    with pytest.raises(ValueError, match="inside 'layer3.0' \\(BasicBlock\\)"):
        split_model(model, "layer3.0.conv1")

    class Twice(nn.Module):  # forward is not its children in order
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)

        def forward(self, x):
            return self.b(self.a(x) + x)

    with pytest.raises(ValueError, match="does not reproduce its forward"):
        split_model(Twice(), "a", nt.randn(2, 3))


def test_training_the_rest_on_cached_features_equals_training_the_model():
    """N SGD steps on the rest over precomputed prefix outputs give the weights that
    training the whole model (frozen prefix in eval) gives; BatchNorm in the rest trains."""
    def run(cached):
        nt.manual_seed(0)
        model = models.get_model("resnet18", num_classes=3)
        freeze(model, "layer3")
        x, y = nt.randn(8, 3, 32, 32), nt.arange(8) % 3
        split = split_model(model, "layer3", x)
        model.train()
        net, inputs = model, x
        if cached:
            with nt.no_grad():
                inputs = split.prefix(x)
            net = split.rest
        opt = nt.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1,
                           momentum=0.9)
        for _ in range(3):
            loss = nn.functional.cross_entropy(net(inputs), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return model.state_dict()

    a, b = run(True), run(False)
    for k in b:
        ref = b[k].numpy()
        atol = float32_atol(np.abs(ref).max() + 1, 3 * network_terms(b))
        np.testing.assert_allclose(a[k].numpy(), ref, rtol=0, atol=atol, err_msg=k)
    assert b["layer4.0.bn1.num_batches_tracked"].item() == 3
    assert b["layer3.0.bn1.num_batches_tracked"].item() == 0


# -- LoRA ---------------------------------------------------------------------------------

def test_lora_linear_initialisation_draws_as_torch_and_peft():
    nt.manual_seed(3)
    base = nn.Linear(6, 5)
    lora = LoRALinear(base, r=4, alpha=8)
    import torch
    torch.manual_seed(3)
    t_base = torch.nn.Linear(6, 5)
    # peft's LoraLayer.update_layer: A and B built as Linear layers, then A re-drawn
    t_a, t_b = torch.nn.Linear(6, 4, bias=False), torch.nn.Linear(4, 5, bias=False)
    torch.nn.init.kaiming_uniform_(t_a.weight, a=math.sqrt(5))
    torch.nn.init.zeros_(t_b.weight)
    np.testing.assert_array_equal(lora.weight.detach().numpy(), t_base.weight.detach().numpy())
    np.testing.assert_array_equal(lora.lora_A.weight.detach().numpy(), t_a.weight.detach().numpy())
    np.testing.assert_array_equal(lora.lora_B.weight.detach().numpy(), 0)
    assert torch.rand(1).item() == nt.rand(1).item()  # the generators are in step after it


def test_lora_conv_initialisation_draws_as_torch_and_peft():
    nt.manual_seed(5)
    base = nn.Conv2d(3, 6, 3, stride=2, padding=1)
    lora = LoRAConv2d(base, r=2)
    import torch
    torch.manual_seed(5)
    torch.nn.Conv2d(3, 6, 3, stride=2, padding=1)
    t_a = torch.nn.Conv2d(3, 2, 3, 2, 1, bias=False)
    torch.nn.Conv2d(2, 6, 1, 1, bias=False)
    torch.nn.init.kaiming_uniform_(t_a.weight, a=math.sqrt(5))
    np.testing.assert_array_equal(lora.lora_A.weight.detach().numpy(), t_a.weight.detach().numpy())
    assert lora.lora_A.stride == (2, 2) and lora.lora_B.kernel_size == (1, 1)


@pytest.mark.parametrize("layer", [lambda: nn.Linear(6, 5), lambda: nn.Conv2d(3, 4, 3, padding=1)])
def test_lora_output_gradients_and_merge(layer):
    nt.manual_seed(0)
    base = layer()
    x = nt.randn(2, 6) if isinstance(base, nn.Linear) else nt.randn(2, 3, 5, 5)
    y0 = base(x).detach().numpy()
    wrapped = (LoRALinear if isinstance(base, nn.Linear) else LoRAConv2d)(base, r=2, alpha=4)
    np.testing.assert_array_equal(wrapped(x).detach().numpy(), y0)  # B = 0 at the start
    wrapped(x).sum().backward()
    assert wrapped.weight.grad is None and wrapped.lora_B.weight.grad is not None
    with nt.no_grad():
        wrapped.lora_B.weight.normal_()
    # the adapter's contribution, computed independently in float64
    a = wrapped.lora_A.weight.detach().numpy().astype(np.float64)
    b = wrapped.lora_B.weight.detach().numpy().astype(np.float64)
    delta = wrapped.delta_weight().detach().numpy()
    if isinstance(base, nn.Linear):
        expected_delta = 2.0 * b @ a
    else:
        expected_delta = 2.0 * np.einsum("or,rikl->oikl", b[:, :, 0, 0], a)
    np.testing.assert_allclose(delta, expected_delta, rtol=0,
                               atol=float32_atol(np.abs(expected_delta).max(), 2 * a.shape[0]))
    y = wrapped(x).detach().numpy()
    w0 = wrapped.weight.detach().numpy().copy()
    wrapped.merge()
    fan_in = int(np.prod(wrapped.weight.shape[1:]))
    atol = float32_atol(np.abs(y).max(), 2 * fan_in)
    np.testing.assert_allclose(wrapped(x).detach().numpy(), y, rtol=0, atol=atol)
    with pytest.raises(RuntimeError, match="already merged"):
        wrapped.merge()
    wrapped.unmerge()
    np.testing.assert_allclose(wrapped.weight.detach().numpy(), w0, rtol=0,
                               atol=float32_atol(np.abs(w0).max() + np.abs(delta).max(), 2))
    np.testing.assert_allclose(wrapped(x).detach().numpy(), y, rtol=0, atol=atol)


def test_lora_on_a_model_saves_only_adapters_and_reloads():
    def fresh():
        nt.manual_seed(0)
        m = models.get_model("resnet18", num_classes=4)
        freeze(m, "backbone")
        return m

    model = fresh()
    names = apply_lora(model, r=4, alpha=8, target_modules=r"layer4\..*conv\d", exclude=["fc"])
    assert names == ["layer4.0.conv1", "layer4.0.conv2", "layer4.1.conv1", "layer4.1.conv2"]
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {f"{n}.lora_{ab}.weight" for n in names for ab in "AB"} | {
        "fc.weight", "fc.bias"}
    with nt.no_grad():
        for name in names:
            model.get_submodule(name).lora_B.weight.normal_(0, 0.01)
    sd = lora_state_dict(model, extra=["fc"])
    assert set(sd) == trainable
    model.eval()
    x = nt.randn(2, 3, 32, 32)
    expected = model(x).detach().numpy()

    other = fresh()
    apply_lora(other, r=4, alpha=8, target_modules=r"layer4\..*conv\d", exclude=["fc"])
    with nt.no_grad():
        other.fc.weight.zero_()  # differs until loaded
    load_lora_state_dict(other, sd)
    other.eval()
    np.testing.assert_array_equal(other(x).detach().numpy(), expected)
    with pytest.raises(RuntimeError, match="missing adapter keys"):
        load_lora_state_dict(other, {"fc.weight": sd["fc.weight"]})
    merge_lora(other)
    atol = float32_atol(np.abs(expected).max(), network_terms(other, passes=1))
    np.testing.assert_allclose(other(x).detach().numpy(), expected, rtol=0, atol=atol)
    with pytest.raises(RuntimeError, match="unmerge"):
        lora_state_dict(other)
    unmerge_lora(other)


def test_apply_lora_bad_targets_are_clear():
    model = models.get_model("resnet18", num_classes=3)
    with pytest.raises(ValueError, match="no Linear or Conv2d layer"):
        apply_lora(model, target_modules=["nothing"])
    with pytest.raises(ValueError, match="'layer1.0.bn1' is a BatchNorm2d"):
        apply_lora(model, target_modules=["layer1.0.bn1"])
    with pytest.raises(ValueError, match="rank r must be a positive integer"):
        apply_lora(model, r=0, target_modules=["fc"])
    with pytest.raises(ValueError, match="grouped convolutions"):
        LoRAConv2d(nn.Conv2d(4, 4, 3, groups=2))


# -- subsets, groups, schedules -----------------------------------------------------------

def test_bitfit_and_norm_subsets():
    model = models.get_model("resnet18", num_classes=3)
    names = set(trainable_subset(model, "bias"))
    assert names == {n for n, _ in model.named_parameters() if n.endswith(".bias")} | {
        "fc.weight"}
    model = models.get_model("mobilenet_v2", num_classes=3)
    names = set(trainable_subset(model, "bias"))
    assert {n for n in names if not n.startswith("classifier.1.")} == {
        n for n, _ in model.named_parameters() if n.endswith(".bias")
        and not n.startswith("classifier.1.")}
    names = set(trainable_subset(model, "norm", head=False))
    bn = [n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]
    assert names == {f"{n}.{w}" for n in bn for w in ("weight", "bias")}
    trainable, total = count_parameters(model)
    assert trainable == sum(2 * model.get_submodule(n).num_features for n in bn) < total
    model.train()  # BatchNorm statistics stay frozen; affine parameters train
    assert all(not m.training for n, m in model.named_modules() if n in bn)
    assert model.features[0][1].weight.requires_grad
    trainable_subset(model, "bias", freeze_stats=False)
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="unknown subset 'lora'"):
        trainable_subset(model, "lora")


def test_param_groups_discriminative_rates():
    model = models.get_model("resnet18", num_classes=3)
    groups = param_groups(model, 0.1, decay=0.5, n_groups=3)
    assert [g["lr"] for g in groups] == [0.025, 0.05, 0.1]
    assert groups[-1]["params"] == [model.fc.weight, model.fc.bias]
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    opt = nt.optim.SGD(groups, lr=0.1, momentum=0.9)  # plain param groups
    assert [g["lr"] for g in opt.param_groups] == [0.025, 0.05, 0.1]
    assert layer_groups(models.get_model("vgg11", num_classes=3))[-1] == ["classifier.6"]
    with pytest.raises(ValueError, match="parameters in no group"):
        param_groups(model, 0.1, groups=[["layer4"], ["fc"]])


def test_gradual_unfreezing_schedule():
    nt.manual_seed(0)
    model = _small_cnn()
    schedule = GradualUnfreezing(model, freeze_epochs=1, base_lr=0.1, decay=0.5)
    opt = nt.optim.SGD(schedule.param_groups, lr=0.1)
    frozen = schedule.apply(0, opt)
    assert frozen and [g["lr"] for g in opt.param_groups][-1] == 0.1
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["9.weight", "9.bias"]
    model.train()
    assert not model[1].training
    assert schedule.apply(1, opt) == []
    model.train()
    assert model[1].training and all(p.requires_grad for p in model.parameters())
    lrs = [g["lr"] for g in opt.param_groups]
    assert lrs[-1] == 0.05 and lrs[-2] == 0.025


def test_lr_find_sweeps_suggests_and_restores():
    nt.manual_seed(0)
    x = nt.randn(256, 10)
    y = (x @ nt.randn(10, 3)).argmax(1)
    model = nn.Linear(10, 3)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    result = lr_find(model, loader, start_lr=1e-5, end_lr=100.0, num_iter=60)
    assert result.lrs[0] == pytest.approx(1e-5)
    ratios = np.diff(np.log(result.lrs))
    np.testing.assert_allclose(ratios, np.log(1e7) / 59, rtol=1e-9)  # exponential sweep
    assert 1e-5 < result.steepest < 100 and result.suggestion == result.steepest
    lo, hi = len(result.losses) // 10, len(result.losses) - 5  # the window searched
    assert result.min_div_10 == pytest.approx(
        result.lrs[lo + int(np.argmin(result.losses[lo:hi]))] / 10)
    for k, v in model.state_dict().items():
        assert np.array_equal(v.numpy(), before[k])
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        lr_find(model, loader, start_lr=1.0, end_lr=0.1)


def test_head_name_of_families():
    assert head_name(models.get_model("squeezenet1_1")) == "classifier.1"
    model = models.get_model("mobilenet_v2")
    replace_head(model, 3)
    assert head_name(model) == "classifier.1"
