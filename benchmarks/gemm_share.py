"""How much of a step is matrix multiplication. For each row, the GEMMs that its
convolutions (as im2col products) and linear layers amount to are timed alone with NumPy's
BLAS on the same threads, next to the step itself in nanotorch and PyTorch. The rest of a
step is the memory-bound part (im2col/col2im, normalisation, activations, depthwise
convolutions, copies), where the two libraries differ most.

    python -m benchmarks.gemm_share                  # W2 W4 F_effb0_224 F_convnext_t_224
    python -m benchmarks.gemm_share W4 --repeat 5"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import nanotorch as nt
from benchmarks import harness
from benchmarks.workloads import WORKLOADS

# row -> (model builder, input shape, whether the step trains every layer)
ROWS = {
    "W2": (lambda: WORKLOADS["W2"].make(nt).model, (64, 1, 28, 28), True),
    "W4": (lambda: WORKLOADS["W4"].make(nt).model, (32, 3, 112, 112), True),
    "F_effb0_224": (lambda: nt.models.efficientnet_b0().features, (64, 3, 224, 224), False),
    "F_convnext_t_224": (lambda: nt.models.convnext_tiny().features, (64, 3, 224, 224),
                         False),
}


def layer_shapes(model, shape):
    """(kind, input shape, weight shape, output shape, groups) of every Conv2d and Linear
    call in one forward pass (run with a gradient, so that no fusion hides a layer)."""
    calls, handles = [], []
    for m in model.modules():
        if isinstance(m, (nt.nn.Conv2d, nt.nn.Linear)):
            def hook(mod, args, out):
                calls.append((type(mod).__name__, tuple(args[0].shape),
                              tuple(mod.weight.shape), tuple(out.shape),
                              getattr(mod, "groups", 1)))
            handles.append(m.register_forward_hook(hook))
    x = nt.zeros(shape, requires_grad=True)
    model(x)
    for h in handles:
        h.remove()
    return calls


def gemms(calls, train):
    """{(m, k, n): count} of the products the layers amount to (forward; with ``train``
    also the input- and weight-gradient products), and the depthwise FLOPs left out."""
    products, depthwise_flops = {}, 0
    for kind, x, w, out, groups in calls:
        if kind == "Linear":
            m, k, n = int(np.prod(x[:-1])), w[1], w[0]
            g = 1
        else:
            m, k, n = out[0] * out[2] * out[3], w[1] * w[2] * w[3], w[0] // groups
            g = groups
            if w[1] == 1 and groups > 1:  # depthwise: no GEMM, a loop per channel
                depthwise_flops += 2 * m * k * n * g
                continue
        shapes = [(m, k, n)] + ([(m, n, k), (k, m, n)] if train else [])
        for s in shapes:
            products[s] = products.get(s, 0) + g
    return products, depthwise_flops


def time_gemms(products, repeat):
    """Seconds for all the products once, each shape timed alone (median of ``repeat``)."""
    total = 0.0
    rng = np.random.default_rng(0)
    for (m, k, n), count in products.items():
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        a @ b
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - t)
        total += statistics.median(times) * count
    return total


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.gemm_share",
                                description=__doc__.splitlines()[0])
    p.add_argument("rows", nargs="*", default=list(ROWS))
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    import torch  # after nanotorch: imported first, its OpenMP threads slow nanotorch
    torch.set_num_threads(nt.get_num_threads())
    print("| row | nanotorch step | torch step | GEMM GFLOP | GEMMs alone (NumPy BLAS) | "
          "GEMM GFLOP/s | depthwise GFLOP |\n|---|---|---|---|---|---|---|")
    for row in args.rows:
        build, shape, train = ROWS[row]
        products, dw = gemms(layer_shapes(build(), shape), train)
        flops = sum(2 * m * k * n * c for (m, k, n), c in products.items())
        alone = time_gemms(products, args.repeat)
        w = WORKLOADS[row]
        steps = {lib.__name__: harness.median_time(w.make(lib), warmup=1, repeat=args.repeat)
                 for lib in (nt, torch)}
        print(f"| {row} | {steps['nanotorch'] * 1e3:.0f} ms | {steps['torch'] * 1e3:.0f} ms | "
              f"{flops / 1e9:.1f} | {alone * 1e3:.0f} ms | {flops / alone / 1e9:.0f} | "
              f"{dw / 1e9:.2f} |", flush=True)


if __name__ == "__main__":
    main()
