"""Benchmark workloads, each written once against the PyTorch API (``lib`` is nanotorch or
torch) so both libraries run exactly the same program. The exception is ``recipe``: the
default fine-tuning recipe as shipped (nanotorch) against the same loop written plainly in
PyTorch (benchmarks/recipe_torch.py)."""
from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks import features


@dataclass
class Workload:
    name: str
    description: str
    make: Callable  # make(lib) -> step()
    unit: str = "ms"  # "ms" per step, "img/s", or "s" for a one-shot run
    batch: int = 1
    repeat: int = 20
    oneshot: bool = False  # timed once, no warm-up, --repeat ignored
    note: Callable | None = None  # note(step's return value) -> text for the table
    memory: bool = True  # whether --memory measures it (not the cold start: a whole process)


def _data(lib, *shape, seed=0):
    return lib.from_numpy(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _labels(lib, n, classes, seed=1):
    return lib.from_numpy(np.random.default_rng(seed).integers(0, classes, n).astype(np.int64))


# Core ops ------------------------------------------------------------------------------
def make_matmul(lib):
    a, b = _data(lib, 512, 512), _data(lib, 512, 512, seed=2)
    return lambda: a @ b


def make_elementwise(lib):
    a, b = _data(lib, 1 << 20), _data(lib, 1 << 20, seed=2)
    return lambda: ((a * b + a).exp() - b).sum()


def make_softmax(lib):
    a = _data(lib, 256, 1000)
    return lambda: lib.softmax(a, dim=1)


def make_mlp_matmul(lib):
    """784-512-512-10 MLP written with matmul (no nn), forward + backward + SGD update."""
    lib.manual_seed(0)
    ws = [(_data(lib, i, o, seed=i + o) * (1.0 / i ** 0.5)).requires_grad_()
          for i, o in ((784, 512), (512, 512), (512, 10))]
    bs = [lib.zeros(o, requires_grad=True) for o in (512, 512, 10)]
    x, y = _data(lib, 256, 784), _labels(lib, 256, 10)

    def step():
        h = x
        for k, (w, b) in enumerate(zip(ws, bs)):
            h = h @ w + b
            if k < 2:
                h = h.relu()
        logp = h.log_softmax(dim=1)
        loss = -logp[lib.arange(256), y].mean()
        loss.backward()
        with lib.no_grad():
            for p in ws + bs:
                p -= 0.01 * p.grad
                p.grad = None
        return loss
    return step


# Training steps (issue 5's W1-W5) -----------------------------------------------------------
def _train_step(lib, model, x, y, params=None, momentum=0.9):
    opt = lib.optim.SGD(params if params is not None else model.parameters(), lr=0.01,
                        momentum=momentum)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    step.model = model  # for tests
    return step


def make_w1(lib):
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    return _train_step(lib, model, _data(lib, 256, 784), _labels(lib, 256, 10))


def make_w2(lib):
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    return _train_step(lib, model, _data(lib, 64, 1, 28, 28), _labels(lib, 64, 10))


def _resnet18(lib):
    if lib.__name__ == "torch":
        from benchmarks.torch_models import resnet18
        return resnet18(lib)
    from nanotorch.models import resnet18
    return resnet18()


def make_w3(lib):
    lib.manual_seed(0)
    model = _resnet18(lib)
    for p in model.parameters():
        p.requires_grad = False
    model.fc = lib.nn.Linear(512, 10)
    model.train()
    return _train_step(lib, model, _data(lib, 32, 3, 112, 112), _labels(lib, 32, 10))


def make_w4(lib):
    lib.manual_seed(0)
    model = _resnet18(lib)
    model.fc = lib.nn.Linear(512, 10)
    model.train()
    return _train_step(lib, model, _data(lib, 32, 3, 112, 112), _labels(lib, 32, 10))


def make_w5(lib):
    lib.manual_seed(0)
    model = _resnet18(lib).eval()
    x = _data(lib, 32, 3, 224, 224)

    def step():
        with lib.no_grad():
            return model(x)
    return step


def _mobilenet_v2(lib):
    if lib.__name__ == "torch":
        from benchmarks.torch_models import build
        return build("mobilenet_v2", lib)
    from nanotorch.models import mobilenet_v2
    return mobilenet_v2()


def make_w6(lib, batch=32, size=112):
    """MobileNetV2 with every parameter frozen and a new 10-class head, train mode."""
    lib.manual_seed(0)
    model = _mobilenet_v2(lib)
    for p in model.parameters():
        p.requires_grad = False
    model.classifier[1] = lib.nn.Linear(1280, 10)
    model.train()
    return _train_step(lib, model, _data(lib, batch, 3, size, size), _labels(lib, batch, 10))


def make_recipe(lib, argv=()):
    """One run of the default fine-tuning recipe (``argv``: extra recipe options). nanotorch
    runs ``recipes.finetune`` itself; torch runs benchmarks/recipe_torch.py with the same
    options. Checkpoints go to a temporary folder; the recipe's printout is swallowed."""
    from recipes import finetune

    def step():
        with tempfile.TemporaryDirectory() as out:
            args = finetune.parse_args(["--out", out, "--quiet", *argv])
            if lib.__name__ == "torch":
                from benchmarks import recipe_torch
                return recipe_torch.train(lib, args)
            with contextlib.redirect_stdout(io.StringIO()):
                return finetune.train(args)
    return step


def make_recipe_expert(lib, argv=()):
    """The default recipe (nanotorch) or the PyTorch expert's script for the same job
    (torch, benchmarks/recipe_expert_torch.py), each in a fresh process: the step's time is
    the whole process, imports included."""
    from benchmarks.recipe_expert import run_side
    return lambda: run_side(lib.__name__, argv)


FASHION_MNIST = os.environ.get("NANOTORCH_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")


def make_recipe_fashion64(lib):
    """The full Fashion-MNIST (IDX folder of Debian's dataset-fashion-mnist, or
    $NANOTORCH_FASHION_MNIST) at 64x64: the recipe against the PyTorch expert, as
    make_recipe_expert."""
    if not os.path.isdir(FASHION_MNIST):
        raise FileNotFoundError(f"no Fashion-MNIST IDX folder at {FASHION_MNIST}: install it "
                                f"with 'apt-get install dataset-fashion-mnist' or set "
                                f"NANOTORCH_FASHION_MNIST")
    return make_recipe_expert(lib, ["--data", FASHION_MNIST, "--image-size", "64"])


def make_cold_start(lib):
    """A fresh process: import the library and run the first W1 step, nanotorch with an
    empty Numba cache (every kernel compiles). The step's time is the whole process."""
    from benchmarks.startup import cold_start
    return lambda: cold_start(lib.__name__)


def _cold_start_note(r):
    return f"in process: import {r['import_s']:.2f} s, import + step {r['first_step_s']:.2f} s"


def _expert_note(r):
    return (f"work in process {r['work_s']:.1f} s, peak RSS {r['peak_rss'] / 2**20:.0f} MiB, "
            f"test acc {r['test_acc']:.1f}%")


def _recipe_note(result):
    return f"test acc {result['test_acc']:.1%}" + (" (cached features)"
                                                    if result.get("cached_features") else "")


WORKLOADS = {w.name: w for w in [
    Workload("matmul", "512x512 @ 512x512 float32", make_matmul, repeat=50),
    Workload("elementwise", "((a*b+a).exp()-b).sum() on 1M floats", make_elementwise, repeat=50),
    Workload("softmax", "softmax over 256x1000", make_softmax, repeat=50),
    Workload("mlp_matmul", "MLP 784-512-512-10 with matmul, batch 256, fwd+bwd+SGD",
             make_mlp_matmul),
    Workload("W1", "MLP 784-512-512-10 train step, batch 256 (nn, SGD momentum)", make_w1),
    Workload("W2", "CNN 2 conv blocks on 1x28x28 train step, batch 64", make_w2),
    Workload("W3", "resnet18 frozen but new fc, train mode, batch 32 of 3x112x112", make_w3,
             repeat=10),
    Workload("W4", "resnet18 fully trainable, batch 32 of 3x112x112", make_w4, repeat=5),
    Workload("W5", "resnet18 inference, eval + no_grad, batch 32 of 3x224x224", make_w5,
             unit="img/s", batch=32, repeat=5),
    Workload("W6", "mobilenet_v2 frozen but new classifier[1], train mode, batch 32 of "
             "3x112x112", make_w6, repeat=10),
    Workload("recipe", "default recipe end to end: mobilenet_v2 IMAGENET1K_V1, Fashion-MNIST "
             "5000/1000 at 32x32, 15 epochs (torch: plain loop, no feature cache)",
             make_recipe, unit="s", oneshot=True, note=_recipe_note),
    Workload("recipe_expert", "default recipe vs the PyTorch expert (features once, then "
             "Linear(1280, 10)), each a whole process; notes: work in process, peak RSS",
             make_recipe_expert, unit="s", oneshot=True, note=_expert_note),
    Workload("recipe_fashion64", "full Fashion-MNIST (60,000/10,000 IDX) at 64x64 through the "
             "recipe vs the PyTorch expert, each a whole process", make_recipe_fashion64,
             unit="s", oneshot=True, note=_expert_note),
    Workload("cold_start", "fresh process: import + first W1 step, empty Numba cache "
             "(whole process)", make_cold_start, unit="s", oneshot=True, note=_cold_start_note,
             memory=False),
    *features.workloads(Workload),
]}
