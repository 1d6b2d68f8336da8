"""Invalid constructor / call arguments to layers, losses, optimizers and schedulers.

Every case in REJECTED is run against torch first: the test checks torch really rejects
it, then that nanotorch raises the same exception class with a message naming the
argument and the offending value. ACCEPTED holds the neighbouring valid edge cases, which
both libraries must take (some with value parity below).
"""
import warnings

import numpy as np
import pytest

import nanotorch as nt

torch = pytest.importorskip("torch")


def _params(L):
    return [L.nn.Parameter(L.zeros(2))]


def _sgd(L, **kw):
    return L.optim.SGD(_params(L), lr=0.1, **kw)


def _img(L, *shape):
    return L.randn(*(shape or (1, 2, 6, 6)))


def _sched(L, name, *args, opt=None, **kw):
    opt = opt or _sgd(L, momentum=0.9)
    return getattr(L.optim.lr_scheduler, name)(opt, *args, **kw)


def _onecycle(L, **kw):
    kw.setdefault("max_lr", 1.0)
    return _sched(L, "OneCycleLR", **kw)


def _step_n(sched, n):
    for _ in range(n):
        sched.optimizer.step()
        sched.step()


def _ce(L, module_kw=None, n_classes=3, target=None, **fn_kw):
    logits = L.randn(2, n_classes)
    target = L.tensor([0, 1]) if target is None else target(L)
    if module_kw is not None:
        return L.nn.CrossEntropyLoss(**module_kw)(logits, target)
    return L.nn.functional.cross_entropy(logits, target, **fn_kw)


def _probs(L):
    return L.softmax(L.randn(2, 3), 1)


# (id, build(L), fragments that must appear in nanotorch's message)
REJECTED = [
    # --- optim.SGD ---
    ("sgd-lr-negative", lambda L: L.optim.SGD(_params(L), lr=-0.1), ["learning rate", "-0.1"]),
    ("sgd-momentum-negative", lambda L: _sgd(L, momentum=-0.5), ["momentum", "-0.5"]),
    ("sgd-weight-decay-negative", lambda L: _sgd(L, weight_decay=-1e-4),
     ["weight_decay", "-0.0001"]),
    ("sgd-nesterov-no-momentum", lambda L: _sgd(L, nesterov=True),
     ["Nesterov", "momentum", "dampening"]),
    ("sgd-nesterov-dampening", lambda L: _sgd(L, momentum=0.9, dampening=0.1, nesterov=True),
     ["Nesterov", "momentum", "dampening"]),
    ("sgd-nesterov-negative-momentum", lambda L: _sgd(L, momentum=-0.9, nesterov=True),
     ["momentum", "-0.9"]),
    ("sgd-tensor-lr-two-elements", lambda L: L.optim.SGD(_params(L), lr=L.tensor([0.1, 0.2])),
     ["lr", "1-element", "[2]"]),
    ("sgd-lr-none", lambda L: L.optim.SGD(_params(L), lr=None), ["NoneType"]),
    ("sgd-empty-params", lambda L: L.optim.SGD([], lr=0.1), ["empty parameter list"]),
    ("sgd-params-is-a-tensor", lambda L: L.optim.SGD(L.zeros(2, requires_grad=True), lr=0.1),
     ["iterable", "Tensor"]),
    ("sgd-param-not-tensor", lambda L: L.optim.SGD([1.0], lr=0.1), ["Tensors", "float"]),
    ("sgd-non-leaf", lambda L: L.optim.SGD([L.zeros(2, requires_grad=True) * 2], lr=0.1),
     ["non-leaf"]),
    # --- optim.Adam / AdamW ---
    ("adam-lr-negative", lambda L: L.optim.Adam(_params(L), lr=-1e-3),
     ["learning rate", "-0.001"]),
    ("adam-eps-negative", lambda L: L.optim.Adam(_params(L), eps=-1e-8), ["epsilon", "-1e-08"]),
    ("adam-eps-nan", lambda L: L.optim.Adam(_params(L), eps=float("nan")), ["epsilon", "nan"]),
    ("adam-beta0-negative", lambda L: L.optim.Adam(_params(L), betas=(-0.1, 0.999)),
     ["beta", "index 0", "-0.1"]),
    ("adam-beta0-one", lambda L: L.optim.Adam(_params(L), betas=(1.0, 0.999)),
     ["beta", "index 0", "1.0"]),
    ("adam-beta1-one", lambda L: L.optim.Adam(_params(L), betas=(0.9, 1.0)),
     ["beta", "index 1", "1.0"]),
    ("adam-beta1-above-one", lambda L: L.optim.Adam(_params(L), betas=(0.9, 1.5)),
     ["beta", "index 1", "1.5"]),
    ("adam-betas-int", lambda L: L.optim.Adam(_params(L), betas=(0, 0.5)), ["betas", "int"]),
    ("adam-weight-decay-negative", lambda L: L.optim.Adam(_params(L), weight_decay=-0.1),
     ["weight_decay", "-0.1"]),
    ("adam-tensor-lr-two-elements", lambda L: L.optim.Adam(_params(L), lr=L.tensor([0.1, 0.2])),
     ["lr", "1-element", "[2]"]),
    ("adamw-lr-negative", lambda L: L.optim.AdamW(_params(L), lr=-1e-3),
     ["learning rate", "-0.001"]),
    ("adamw-eps-negative", lambda L: L.optim.AdamW(_params(L), eps=-1.0), ["epsilon", "-1.0"]),
    ("adamw-beta0-one", lambda L: L.optim.AdamW(_params(L), betas=(1.0, 0.9)),
     ["beta", "index 0", "1.0"]),
    ("adamw-beta1-negative", lambda L: L.optim.AdamW(_params(L), betas=(0.9, -0.1)),
     ["beta", "index 1", "-0.1"]),
    ("adamw-weight-decay-negative", lambda L: L.optim.AdamW(_params(L), weight_decay=-0.01),
     ["weight_decay", "-0.01"]),
    # --- lr_scheduler ---
    ("scheduler-not-an-optimizer", lambda L: L.optim.lr_scheduler.StepLR(object(), 2),
     ["object", "not an Optimizer"]),
    ("scheduler-resume-without-initial-lr",
     lambda L: _sched(L, "StepLR", 2, last_epoch=3), ["initial_lr", "param_groups[0]"]),
    ("lambdalr-wrong-count", lambda L: _sched(L, "LambdaLR", [lambda e: 1.0] * 2),
     ["lr_lambdas", "1", "2"]),
    ("linearlr-start-zero", lambda L: _sched(L, "LinearLR", start_factor=0.0),
     ["start_factor", "0.0"]),
    ("linearlr-start-above-one", lambda L: _sched(L, "LinearLR", start_factor=1.5),
     ["start_factor", "1.5"]),
    ("linearlr-end-negative", lambda L: _sched(L, "LinearLR", end_factor=-0.1),
     ["end_factor", "-0.1"]),
    ("linearlr-end-above-one", lambda L: _sched(L, "LinearLR", end_factor=1.1),
     ["end_factor", "1.1"]),
    ("onecycle-no-length", lambda L: _onecycle(L), ["total_steps", "epochs", "steps_per_epoch"]),
    ("onecycle-total-zero", lambda L: _onecycle(L, total_steps=0), ["total_steps", "0"]),
    ("onecycle-total-float", lambda L: _onecycle(L, total_steps=10.0), ["total_steps", "10.0"]),
    ("onecycle-epochs-zero", lambda L: _onecycle(L, epochs=0, steps_per_epoch=3),
     ["epochs", "0"]),
    ("onecycle-steps-per-epoch-zero", lambda L: _onecycle(L, epochs=2, steps_per_epoch=0),
     ["steps_per_epoch", "0"]),
    ("onecycle-pct-above-one", lambda L: _onecycle(L, total_steps=10, pct_start=1.5),
     ["pct_start", "1.5"]),
    ("onecycle-pct-int", lambda L: _onecycle(L, total_steps=10, pct_start=1),
     ["pct_start", "1"]),
    ("onecycle-anneal-strategy", lambda L: _onecycle(L, total_steps=10, anneal_strategy="exp"),
     ["anneal_strategy", "exp"]),
    ("onecycle-max-lr-length", lambda L: _onecycle(L, total_steps=10, max_lr=[1.0, 2.0]),
     ["max_lr", "2", "1"]),
    ("onecycle-stepped-past-end", lambda L: _step_n(_onecycle(L, total_steps=2), 3),
     ["Tried to step 3 times", "2"]),
    # --- Linear / Conv2d ---
    ("linear-in-negative", lambda L: L.nn.Linear(-1, 3), ["negative dimension", "-1"]),
    ("linear-out-negative", lambda L: L.nn.Linear(3, -2), ["negative dimension", "-2"]),
    ("conv-in-negative", lambda L: L.nn.Conv2d(-2, 4, 3), ["negative dimension", "-2"]),
    ("conv-out-negative", lambda L: L.nn.Conv2d(2, -4, 3), ["negative dimension", "-4"]),
    ("conv-kernel-negative", lambda L: L.nn.Conv2d(2, 2, -1), ["negative dimension", "-1"]),
    ("conv-groups-zero", lambda L: L.nn.Conv2d(4, 4, 3, groups=0), ["groups", "groups=0"]),
    ("conv-groups-negative", lambda L: L.nn.Conv2d(4, 4, 3, groups=-2), ["groups", "-2"]),
    ("conv-groups-vs-in", lambda L: L.nn.Conv2d(3, 6, 3, groups=2),
     ["in_channels", "divisible", "in_channels=3", "groups=2"]),
    ("conv-groups-vs-out", lambda L: L.nn.Conv2d(4, 3, 3, groups=2),
     ["out_channels", "divisible", "out_channels=3", "groups=2"]),
    ("conv-padding-string", lambda L: L.nn.Conv2d(2, 2, 3, padding="full"),
     ["padding", "full"]),
    ("conv-same-strided", lambda L: L.nn.Conv2d(2, 2, 3, stride=2, padding="same"),
     ["same", "stride", "2"]),
    ("conv-padding-mode", lambda L: L.nn.Conv2d(2, 2, 3, padding_mode="mirror"),
     ["padding_mode", "mirror"]),
    ("conv-stride-zero", lambda L: L.nn.Conv2d(2, 2, 3, stride=0)(_img(L)),
     ["stride", "0"]),
    ("conv-stride-negative", lambda L: L.nn.Conv2d(2, 2, 3, stride=-1)(_img(L)),
     ["stride", "-1"]),
    ("conv-stride-one-zero", lambda L: L.nn.Conv2d(2, 2, 3, stride=(1, 0))(_img(L)),
     ["stride", "[1, 0]"]),
    ("conv-dilation-zero", lambda L: L.nn.Conv2d(2, 2, 3, dilation=0)(_img(L)),
     ["dilation", "0"]),
    ("conv-padding-negative", lambda L: L.nn.Conv2d(2, 2, 3, padding=-1)(_img(L)),
     ["padding", "-1"]),
    ("conv-padding-three-values", lambda L: L.nn.Conv2d(2, 2, 3, padding=(1, 1, 1))(_img(L)),
     ["padding", "[1, 1, 1]"]),
    ("conv-kernel-zero", lambda L: L.nn.Conv2d(2, 2, 0)(_img(L)),
     ["kernel size", "kernel_height: 0"]),
    ("conv-kernel-width-zero", lambda L: L.nn.Conv2d(2, 2, (3, 0))(_img(L)),
     ["kernel size", "kernel_width: 0"]),
    ("f-conv-empty-weight", lambda L: L.nn.functional.conv2d(_img(L), L.randn(2, 2, 0, 3)),
     ["kernel size", "kernel_height: 0"]),
    ("conv-kernel-larger-than-input", lambda L: L.nn.Conv2d(2, 2, 7)(_img(L)),
     ["Kernel size", "7"]),
    # --- BatchNorm ---
    ("bn-features-negative", lambda L: L.nn.BatchNorm2d(-3), ["negative dimension", "-3"]),
    ("bn-eps-zero-train", lambda L: L.nn.BatchNorm2d(2, eps=0.0)(_img(L, 2, 2, 3, 3)),
     ["eps", "positive", "0.0"]),
    ("bn-eps-negative-train", lambda L: L.nn.BatchNorm2d(2, eps=-1.0)(_img(L, 2, 2, 3, 3)),
     ["eps", "-1.0"]),
    ("bn-eps-negative-eval",
     lambda L: L.nn.BatchNorm2d(2, eps=-1.0).eval()(_img(L, 2, 2, 3, 3)),
     ["eps", "non-negative", "-1.0"]),
    ("f-bn-eps-negative", lambda L: L.nn.functional.batch_norm(
        _img(L, 2, 2, 3, 3), L.zeros(2), L.ones(2), eps=-1.0), ["eps", "-1.0"]),
    ("bn-batch-of-one-train", lambda L: L.nn.BatchNorm1d(3)(L.randn(1, 3)),
     ["more than 1 value per channel", "[1, 3]"]),
    ("bn2d-on-3d-input", lambda L: L.nn.BatchNorm2d(2)(L.randn(2, 2, 3)), ["4D", "3D"]),
    ("bn1d-on-4d-input", lambda L: L.nn.BatchNorm1d(3)(L.randn(2, 3, 2, 2)), ["2D", "4D"]),
    ("bn-channel-mismatch", lambda L: L.nn.BatchNorm2d(3)(_img(L, 2, 2, 3, 3)), ["2", "3"]),
    # --- Dropout ---
    ("dropout-p-negative", lambda L: L.nn.Dropout(-0.1), ["probability", "-0.1"]),
    ("dropout-p-above-one", lambda L: L.nn.Dropout(1.5), ["probability", "1.5"]),
    ("dropout1d-p-above-one", lambda L: L.nn.Dropout1d(1.01), ["probability", "1.01"]),
    ("dropout2d-p-above-one", lambda L: L.nn.Dropout2d(1.01), ["probability", "1.01"]),
    ("f-dropout-p-above-one", lambda L: L.nn.functional.dropout(L.randn(3), p=1.5),
     ["probability", "1.5"]),
    ("f-dropout-p-negative", lambda L: L.nn.functional.dropout(L.randn(3), p=-0.5),
     ["probability", "-0.5"]),
    # --- pooling (padding/kernel rules are checked at forward, as torch does) ---
    ("maxpool-pad-over-half-kernel", lambda L: L.nn.MaxPool2d(2, padding=2)(_img(L)),
     ["pad", "half", "pad=2", "kernel_size=2"]),
    ("maxpool-pad-over-half-kernel3", lambda L: L.nn.MaxPool2d(3, padding=2)(_img(L)),
     ["pad", "half", "pad=2", "kernel_size=3"]),
    ("maxpool-pad-negative", lambda L: L.nn.MaxPool2d(2, padding=-1)(_img(L)),
     ["pad", "non-negative", "-1"]),
    ("maxpool-kernel-zero", lambda L: L.nn.MaxPool2d(0)(_img(L)), ["0"]),
    ("maxpool-stride-zero", lambda L: L.nn.MaxPool2d(2, stride=0)(_img(L)), ["stride", "0"]),
    ("maxpool-dilation-zero", lambda L: L.nn.MaxPool2d(2, dilation=0)(_img(L)),
     ["dilation", "0"]),
    ("maxpool-output-empty", lambda L: L.nn.MaxPool2d(7)(_img(L)),
     ["Output size is too small", "2x6x6"]),
    ("maxpool-kernel-three-values", lambda L: L.nn.MaxPool2d((2, 2, 2))(_img(L)),
     ["kernel_size", "[2, 2, 2]"]),
    ("avgpool-pad-over-half-kernel", lambda L: L.nn.AvgPool2d(3, padding=2)(_img(L)),
     ["pad", "half", "pad=2", "kernel_size=3"]),
    ("avgpool-pad-negative", lambda L: L.nn.AvgPool2d(2, padding=-1)(_img(L)),
     ["pad", "non-negative", "-1"]),
    ("avgpool-kernel-zero", lambda L: L.nn.AvgPool2d(0)(_img(L)), ["0"]),
    ("avgpool-stride-zero", lambda L: L.nn.AvgPool2d(2, stride=0)(_img(L)), ["stride", "0"]),
    ("avgpool-divisor-zero", lambda L: L.nn.AvgPool2d(2, divisor_override=0)(_img(L)),
     ["divisor", "0"]),
    ("adaptive-three-values", lambda L: L.nn.AdaptiveAvgPool2d((1, 1, 1))(_img(L)),
     ["output_size", "3"]),
    # --- Embedding ---
    ("embedding-padding-idx-too-big", lambda L: L.nn.Embedding(5, 3, padding_idx=5),
     ["Padding_idx", "padding_idx=5", "num_embeddings=5"]),
    ("embedding-padding-idx-too-small", lambda L: L.nn.Embedding(5, 3, padding_idx=-6),
     ["Padding_idx", "padding_idx=-6", "num_embeddings=5"]),
    ("embedding-count-negative", lambda L: L.nn.Embedding(-1, 3), ["negative dimension", "-1"]),
    ("embedding-dim-negative", lambda L: L.nn.Embedding(4, -3), ["negative dimension", "-3"]),
    ("embedding-weight-shape", lambda L: L.nn.Embedding(4, 3, _weight=L.zeros(3, 3)),
     ["Shape of weight", "[3, 3]", "[4, 3]"]),
    ("embedding-index-out-of-range", lambda L: L.nn.Embedding(4, 3)(L.tensor([4])),
     ["index out of range", "4"]),
    ("embedding-float-indices", lambda L: L.nn.Embedding(4, 3)(L.tensor([1.0])),
     ["indices", "float"]),
    # --- Flatten ---
    ("flatten-start-after-end", lambda L: L.nn.Flatten(2, 1)(L.randn(2, 3, 4)),
     ["start_dim", "end_dim"]),
    ("flatten-end-out-of-range", lambda L: L.nn.Flatten(1, 5)(L.randn(2, 3, 4)),
     ["Dimension out of range", "5"]),
    ("flatten-start-out-of-range", lambda L: L.nn.Flatten(4)(L.randn(2, 3, 4)),
     ["Dimension out of range", "4"]),
    ("flatten-default-on-1d", lambda L: L.nn.Flatten()(L.randn(3)),
     ["Dimension out of range", "1"]),
    ("unflatten-float-size", lambda L: L.nn.Unflatten(1, (2.0, 3)),
     ["unflattened_size", "2.0"]),
    # --- LayerNorm ---
    ("layernorm-shape-negative", lambda L: L.nn.LayerNorm(-2), ["negative dimension", "-2"]),
    ("layernorm-shape-float", lambda L: L.nn.LayerNorm(3.0), ["float"]),
    ("layernorm-shape-mismatch", lambda L: L.nn.LayerNorm(4)(L.randn(2, 3)),
     ["normalized_shape=[4]", "[2, 3]"]),
    ("layernorm-shape-too-long", lambda L: L.nn.LayerNorm((2, 2, 3))(L.randn(2, 3)),
     ["normalized_shape=[2, 2, 3]", "[2, 3]"]),
    ("layernorm-shape-empty", lambda L: L.nn.LayerNorm(())(L.randn(2, 3)),
     ["normalized_shape", "[]"]),
    # --- losses ---
    ("ce-reduction", lambda L: _ce(L, {"reduction": "avg"}), ["avg", "reduction"]),
    ("f-ce-reduction", lambda L: _ce(L, reduction="avg"), ["avg", "reduction"]),
    ("ce-label-smoothing-above-one", lambda L: _ce(L, {"label_smoothing": 1.5}),
     ["label_smoothing", "1.5"]),
    ("ce-label-smoothing-above-one-probs", lambda L: _ce(L, target=_probs, label_smoothing=1.1),
     ["label_smoothing", "1.1"]),
    ("ce-weight-length", lambda L: _ce(L, {"weight": L.ones(4)}), ["3 classes", "[4]"]),
    ("ce-target-out-of-range", lambda L: _ce(L, {}, target=lambda L: L.tensor([0, 3])),
     ["Target 3", "out of bounds"]),
    ("nll-reduction", lambda L: L.nn.NLLLoss(reduction="x")(L.randn(2, 3), L.tensor([0, 1])),
     ["x is not a valid value for reduction"]),
    ("mse-reduction", lambda L: L.nn.MSELoss(reduction="all")(L.randn(2), L.randn(2)),
     ["all", "reduction"]),
    ("f-mse-reduction", lambda L: L.nn.functional.mse_loss(L.randn(2), L.randn(2),
                                                           reduction="all"),
     ["all", "reduction"]),
    ("l1-reduction", lambda L: L.nn.L1Loss(reduction="all")(L.rand(2), L.rand(2)),
     ["all", "reduction"]),
    ("bce-reduction", lambda L: L.nn.BCELoss(reduction="all")(L.rand(2), L.rand(2)),
     ["all", "reduction"]),
    ("bce-logits-reduction",
     lambda L: L.nn.BCEWithLogitsLoss(reduction="all")(L.rand(2), L.rand(2)),
     ["all", "reduction"]),
    ("smooth-l1-beta-negative", lambda L: L.nn.SmoothL1Loss(beta=-1.0)(L.rand(2), L.rand(2)),
     ["beta", "-1.0"]),
    # --- activations with arguments ---
    ("gelu-approximate", lambda L: L.nn.GELU(approximate="fast")(L.randn(2)),
     ["approximate", "fast"]),
    ("softmax-dim-out-of-range", lambda L: L.nn.Softmax(dim=3)(L.randn(2, 3)),
     ["Dimension out of range", "3"]),
]

# valid edge cases next to the rejected ones: both libraries accept them
ACCEPTED = [
    ("sgd-lr-zero", lambda L: L.optim.SGD(_params(L), lr=0.0)),
    ("sgd-nesterov", lambda L: _sgd(L, momentum=0.9, nesterov=True)),
    ("sgd-dampening-without-nesterov", lambda L: _sgd(L, momentum=0.9, dampening=0.5)),
    ("sgd-dampening-negative", lambda L: _sgd(L, momentum=0.9, dampening=-0.1)),
    ("sgd-dampening-above-one", lambda L: _sgd(L, momentum=0.9, dampening=2.0)),
    ("sgd-dampening-no-momentum", lambda L: _sgd(L, dampening=0.3)),
    ("sgd-tensor-lr-scalar", lambda L: L.optim.SGD(_params(L), lr=L.tensor(0.1))),
    ("adam-lr-zero", lambda L: L.optim.Adam(_params(L), lr=0.0)),
    ("adam-betas-zero", lambda L: L.optim.Adam(_params(L), betas=(0.0, 0.0))),
    ("adam-eps-zero", lambda L: L.optim.Adam(_params(L), eps=0.0)),
    ("adam-tensor-lr-scalar", lambda L: L.optim.Adam(_params(L), lr=L.tensor(0.01))),
    ("adamw-weight-decay-zero", lambda L: L.optim.AdamW(_params(L), weight_decay=0.0)),
    ("linearlr-end-zero", lambda L: _sched(L, "LinearLR", end_factor=0.0)),
    ("linearlr-start-one", lambda L: _sched(L, "LinearLR", start_factor=1.0)),
    ("onecycle-pct-zero", lambda L: _onecycle(L, total_steps=10, pct_start=0.0)),
    ("onecycle-pct-one", lambda L: _onecycle(L, total_steps=10, pct_start=1.0)),
    ("onecycle-adam", lambda L: _onecycle(L, total_steps=10, opt=L.optim.Adam(_params(L)))),
    ("onecycle-full-run", lambda L: _step_n(_onecycle(L, total_steps=3), 2)),
    ("steplr-step-size-zero-constructed", lambda L: _sched(L, "StepLR", 0)),
    ("linear-zero-in", lambda L: L.nn.Linear(0, 3)(L.randn(2, 0))),
    ("linear-zero-out", lambda L: L.nn.Linear(3, 0)(L.randn(2, 3))),
    ("conv-zero-in", lambda L: L.nn.Conv2d(0, 4, 3)),
    ("conv-zero-out", lambda L: L.nn.Conv2d(2, 0, 3)),
    ("conv-groups-dividing", lambda L: L.nn.Conv2d(4, 6, 3, groups=2)(_img(L, 1, 4, 5, 5))),
    ("conv-same", lambda L: L.nn.Conv2d(2, 2, 4, padding="same")(_img(L))),
    ("conv-same-dilated", lambda L: L.nn.Conv2d(2, 2, 3, dilation=2, padding="same")(_img(L))),
    ("conv-valid-strided", lambda L: L.nn.Conv2d(2, 2, 3, stride=2, padding="valid")(_img(L))),
    ("conv-stride-zero-constructed", lambda L: L.nn.Conv2d(2, 2, 3, stride=0)),
    ("bn-zero-features", lambda L: L.nn.BatchNorm2d(0)),
    ("bn-eps-zero-eval", lambda L: L.nn.BatchNorm2d(2, eps=0.0).eval()(_img(L, 2, 2, 3, 3))),
    ("bn-eps-negative-constructed", lambda L: L.nn.BatchNorm2d(2, eps=-1.0)),
    ("bn-momentum-none", lambda L: L.nn.BatchNorm2d(2, momentum=None)(_img(L, 2, 2, 3, 3))),
    ("bn-batch-of-one-eval", lambda L: L.nn.BatchNorm1d(3).eval()(L.randn(1, 3))),
    ("dropout-p-zero", lambda L: L.nn.Dropout(0.0)(L.randn(3))),
    ("dropout-p-one", lambda L: L.nn.Dropout(1.0)(L.randn(3))),
    ("maxpool-pad-half-kernel", lambda L: L.nn.MaxPool2d(2, padding=1)(_img(L))),
    ("maxpool-pad-constructed", lambda L: L.nn.MaxPool2d(2, padding=2)),
    ("maxpool-ceil-padded", lambda L: L.nn.MaxPool2d(3, stride=2, padding=1,
                                                     ceil_mode=True)(_img(L))),
    ("maxpool-dilated-pad", lambda L: L.nn.MaxPool2d(2, padding=1, dilation=3)(_img(L))),
    ("avgpool-pad-half-kernel", lambda L: L.nn.AvgPool2d(3, stride=1, padding=1)(_img(L))),
    ("embedding-padding-idx-last", lambda L: L.nn.Embedding(5, 3, padding_idx=4)),
    ("embedding-padding-idx-minus-n", lambda L: L.nn.Embedding(5, 3, padding_idx=-5)),
    ("flatten-start-equals-end", lambda L: L.nn.Flatten(1, 1)(L.randn(2, 3, 4))),
    ("flatten-0d", lambda L: L.nn.Flatten(0)(L.tensor(3.0))),
    ("layernorm-eps-zero", lambda L: L.nn.LayerNorm(3, eps=0.0)(L.randn(2, 3))),
    ("ce-label-smoothing-one", lambda L: _ce(L, {"label_smoothing": 1.0})),
    ("ce-label-smoothing-zero-probs", lambda L: _ce(L, target=_probs, label_smoothing=0.0)),
    ("ce-reduction-none", lambda L: _ce(L, {"reduction": "none"})),
]


def _raised(build, L):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            build(L)
        except Exception as e:  # noqa: BLE001 - the class is what is compared
            return e
    return None


@pytest.mark.parametrize("build,fragments", [c[1:] for c in REJECTED],
                         ids=[c[0] for c in REJECTED])
def test_rejected_like_torch(build, fragments):
    ref = _raised(build, torch)
    assert ref is not None, "torch accepts this case: it does not belong in REJECTED"
    got = _raised(build, nt)
    assert got is not None, f"nanotorch accepted it; torch raised {type(ref).__name__}: {ref}"
    assert type(got) is type(ref), (f"nanotorch raised {type(got).__name__}: {got}; torch "
                                    f"raised {type(ref).__name__}: {ref}")
    msg = str(got)
    missing = [f for f in fragments if f not in msg]
    assert not missing, f"message {msg!r} does not name {missing}"


@pytest.mark.parametrize("build", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_valid_edge_case_accepted(build):
    ref = _raised(build, torch)
    assert ref is None, f"torch rejects this case ({ref!r}): it does not belong in ACCEPTED"
    got = _raised(build, nt)
    assert got is None, f"nanotorch rejected a case torch accepts: {type(got).__name__}: {got}"


def test_case_ids_unique():
    ids = [c[0] for c in REJECTED + ACCEPTED]
    assert len(ids) == len(set(ids))


# --- value parity for the accepted edge cases whose arithmetic is unusual -----------------

OPTIM_EDGES = [
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=-0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=1.0)),
    ("SGD", dict(lr=0.1, dampening=0.3)),  # dampening ignored without momentum
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.0, momentum=0.9)),
    ("Adam", dict(lr=0.01, betas=(0.0, 0.0))),
    ("Adam", dict(lr=0.01, eps=0.0)),
    ("Adam", dict(lr=0.0)),
    ("AdamW", dict(lr=0.01, weight_decay=0.0)),
]


@pytest.mark.parametrize("name,kwargs", OPTIM_EDGES, ids=[f"{n}-{k}" for n, k in OPTIM_EDGES])
def test_optimizer_edge_values_match_torch(name, kwargs):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4))
    ours = nt.nn.Parameter(nt.tensor(w0.copy()))
    ref = torch.nn.Parameter(torch.tensor(w0.copy()))
    opt_n = getattr(nt.optim, name)([ours], **kwargs)
    opt_t = getattr(torch.optim, name)([ref], **kwargs)
    for _ in range(4):
        g = rng.standard_normal((3, 4)) + 0.5  # away from 0: eps=0 divides by |g|
        ours.grad, ref.grad = nt.tensor(g.copy()), torch.tensor(g.copy())
        opt_n.step()
        opt_t.step()
        np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(),
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("momentum", [None, 0.0, 1.0, 1.5])
def test_batchnorm_momentum_edges_match_torch(momentum):
    # torch does not range-check BatchNorm momentum; the running statistics must follow
    # the same formula for any value
    rng = np.random.default_rng(1)
    ours = nt.nn.BatchNorm2d(3, momentum=momentum).double()
    ref = torch.nn.BatchNorm2d(3, momentum=momentum).double()
    for _ in range(3):
        x = rng.standard_normal((4, 3, 2, 2))
        np.testing.assert_allclose(ours(nt.tensor(x)).detach().numpy(),
                                   ref(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(ref, name).numpy(),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("padding_idx", [4, -5, -1])
def test_embedding_padding_idx_normalised_like_torch(padding_idx):
    ours = nt.nn.Embedding(5, 3, padding_idx=padding_idx)
    ref = torch.nn.Embedding(5, 3, padding_idx=padding_idx)
    assert ours.padding_idx == ref.padding_idx
    assert not ours.weight.detach().numpy()[ours.padding_idx].any()


@pytest.mark.parametrize("smoothing", [0.0, 1.0])
def test_cross_entropy_label_smoothing_bounds_match_torch(smoothing):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 5))
    t = np.array([0, 4, 2, 1])
    xn = nt.tensor(x.copy(), requires_grad=True)
    xt = torch.tensor(x.copy(), requires_grad=True)
    ln = nt.nn.CrossEntropyLoss(label_smoothing=smoothing)(xn, nt.tensor(t))
    lt = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)(xt, torch.tensor(t))
    ln.backward()
    lt.backward()
    np.testing.assert_allclose(ln.item(), lt.item(), rtol=1e-12)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_dropout_p_one_zeroes_everything_in_training():
    x = np.ones((2, 5), dtype=np.float32)
    out = nt.nn.Dropout(1.0)(nt.tensor(x)).numpy()
    ref = torch.nn.Dropout(1.0)(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(out, np.zeros_like(x))


@pytest.mark.parametrize("n_in,n_out,shape", [(0, 3, (2, 0)), (0, 3, (4, 2, 0)), (3, 0, (2, 3)),
                                              (3, 0, (3,))])
def test_linear_zero_features_forward_backward_match_torch(n_in, n_out, shape):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Initializing zero-element tensors is a no-op"
        ours, ref = nt.nn.Linear(n_in, n_out).double(), torch.nn.Linear(n_in, n_out).double()
    with torch.no_grad():
        ref.bias.copy_(torch.tensor(ours.bias.detach().numpy()))
    x = np.random.default_rng(3).standard_normal(shape)
    xn = nt.tensor(x.copy(), requires_grad=True)
    xt = torch.tensor(x.copy(), requires_grad=True)
    yn, yt = ours(xn), ref(xt)
    np.testing.assert_allclose(yn.detach().numpy(), yt.detach().numpy())
    (yn * 2).sum().backward()
    (yt * 2).sum().backward()
    for a, b in ((xn.grad, xt.grad), (ours.weight.grad, ref.weight.grad),
                 (ours.bias.grad, ref.bias.grad)):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.numpy())
