"""Eval feature extraction, batch 64 under no_grad, as a PyTorch expert writes it for a
frozen backbone: ``features(x)`` then global average pooling (MobileNetV2, EfficientNet,
ConvNeXt), or the whole network with its classifier replaced by Identity (ResNet-18: the
pooled 512 features; ViT-B/16: the class token). Random weights; the torch network is
the same model source built with torch (benchmarks/_torch_models.py).

    python -m benchmarks.features            # every row, with peak memory
    python -m benchmarks.features F_mnv2_32  # some rows

The rows are also workloads of ``python -m benchmarks.run``."""
from __future__ import annotations

import sys

import numpy as np

BATCH = 64

# row name -> (model, image size, how its features are taken)
CONFIGS = {
    "F_mnv2_32": ("mobilenet_v2", 32, "features"),
    "F_mnv2_112": ("mobilenet_v2", 112, "features"),
    "F_mnv2_224": ("mobilenet_v2", 224, "features"),
    "F_resnet18_224": ("resnet18", 224, "headless"),
    "F_effb0_224": ("efficientnet_b0", 224, "features"),
    "F_convnext_t_224": ("convnext_tiny", 224, "features"),
    "F_vit_b16_224": ("vit_b_16", 224, "headless"),
}


def _model(lib, name):
    if lib.__name__ == "torch":
        from benchmarks._torch_models import build
        return build(name, lib)
    from nanotorch import models
    return getattr(models, name)()


def make(lib, row):
    """step() -> (BATCH, features) for one row of CONFIGS."""
    name, size, how = CONFIGS[row]
    lib.manual_seed(0)
    model = _model(lib, name).eval()
    x = lib.from_numpy(np.random.default_rng(0).standard_normal(
        (BATCH, 3, size, size)).astype(np.float32))
    if how == "headless":
        for head in ("fc", "heads"):
            if hasattr(model, head):
                setattr(model, head, lib.nn.Identity())

        def step():
            with lib.no_grad():
                return model(x)
        return step
    features = model.features

    def step():
        with lib.no_grad():
            return features(x).mean((2, 3))
    return step


def workloads(Workload):
    """The rows as benchmarks.workloads.Workload entries."""
    return [Workload(row, f"{name} eval features at {size}x{size}, batch {BATCH}, no_grad",
                     lambda lib, row=row: make(lib, row), unit="img/s", batch=BATCH,
                     repeat=5 if size < 224 else 2)
            for row, (name, size, _) in CONFIGS.items()]


def main(argv=None):
    from benchmarks import run
    argv = list(sys.argv[1:] if argv is None else argv)
    names = [a for a in argv if not a.startswith("-")] or list(CONFIGS)
    run.main(names + [a for a in argv if a.startswith("-")] + ["--memory"])


if __name__ == "__main__":
    main()
