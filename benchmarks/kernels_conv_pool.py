"""Time nanotorch conv/pool kernels against torch.nn.functional (forward and forward+backward).

Run from the repository root:
    python benchmarks/kernels_conv_pool.py [--dtype float64] [--repeat 15] [--stat min]
Both sides get the same inputs and compute the same gradients. Prints median (or min)
milliseconds and the ratio nanotorch / torch (lower is better, < 1 is faster).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# nanotorch before torch: importing torch first slows nanotorch's kernels down
from nanotorch.kernels.conv import conv2d_backward, conv2d_forward  # noqa: E402, I001
from nanotorch.kernels.pool import (  # noqa: E402
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# name, (N, C, H, W), (O, kh, kw), stride, padding, groups, need_input
CONVS = [
    ("resnet18 conv1 7x7 s2", (32, 3, 112, 112), (64, 7, 7), 2, 3, 1, False),
    ("3x3 64->64 28x28", (32, 64, 28, 28), (64, 3, 3), 1, 1, 1, True),
    ("3x3 s2 128->256 14x14", (32, 128, 14, 14), (256, 3, 3), 2, 1, 1, True),
    ("1x1 s2 128->256 28x28", (32, 128, 28, 28), (256, 1, 1), 2, 0, 1, True),
    ("1x1 s1 96->24 56x56", (32, 96, 56, 56), (24, 1, 1), 1, 0, 1, True),
    ("depthwise 3x3 96ch 56x56", (32, 96, 56, 56), (96, 3, 3), 1, 1, 96, True),
    ("depthwise 3x3 s2 144ch 56x56", (32, 144, 56, 56), (144, 3, 3), 2, 1, 144, True),
]


STAT = np.median  # --stat min is steadier on a shared machine


def median_ms(fn, repeat):
    fn()  # warm-up (compilation, allocator)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(STAT(times))


def report(name, ours_f, torch_f, ours_fb, torch_fb, repeat):
    a, b = median_ms(ours_f, repeat), median_ms(torch_f, repeat)
    c, d = median_ms(ours_fb, repeat), median_ms(torch_fb, repeat)
    print(f"{name:30s} fwd {a:8.2f} / {b:8.2f} ms  x{a / b:5.2f}   "
          f"fwd+bwd {c:8.2f} / {d:8.2f} ms  x{c / d:5.2f}")


def bench_conv(spec, dtype, rng, repeat):
    name, xs, (O, kh, kw), s, p, g, need_input = spec
    x = rng.standard_normal(xs).astype(dtype)
    w = (rng.standard_normal((O, xs[1] // g, kh, kw)) * 0.1).astype(dtype)
    args = ((s, s), (p, p), (1, 1), g)
    gy = rng.standard_normal(conv2d_forward(x, w, None, *args).shape).astype(dtype)
    tx = torch.from_numpy(x).requires_grad_(need_input)
    tw = torch.from_numpy(w).requires_grad_(True)
    tgy = torch.from_numpy(gy)

    def ours_fb():
        conv2d_forward(x, w, None, *args)
        conv2d_backward(x, w, gy, *args, need_input, True, False)

    def torch_f():
        with torch.no_grad():
            F.conv2d(tx, tw, None, s, p, 1, g)

    def torch_fb():
        F.conv2d(tx, tw, None, s, p, 1, g).backward(tgy)

    report(name, lambda: conv2d_forward(x, w, None, *args), torch_f, ours_fb, torch_fb, repeat)


def bench_pools(dtype, rng, repeat):
    x = rng.standard_normal((32, 64, 56, 56)).astype(dtype)
    tx = torch.from_numpy(x).requires_grad_(True)
    mp = ((3, 3), (2, 2), (1, 1), (1, 1), False)
    y, idx = max_pool2d_forward(x, *mp)
    gy = rng.standard_normal(y.shape).astype(dtype)
    tgy = torch.from_numpy(gy)

    def ours_fb():
        _, i = max_pool2d_forward(x, *mp)
        max_pool2d_backward(gy, i, x.shape)

    def torch_f():
        with torch.no_grad():
            F.max_pool2d(tx, 3, 2, 1)

    report("maxpool 3x3 s2 p1 64x56x56", lambda: max_pool2d_forward(x, *mp), torch_f,
           ours_fb, lambda: F.max_pool2d(tx, 3, 2, 1).backward(tgy), repeat)

    ap = ((3, 3), (2, 2), (1, 1), False, True, None)

    def ours_ap_fb():
        avg_pool2d_forward(x, *ap)
        avg_pool2d_backward(gy, x.shape, *ap)

    def torch_ap_f():
        with torch.no_grad():
            F.avg_pool2d(tx, 3, 2, 1)

    report("avgpool 3x3 s2 p1 64x56x56", lambda: avg_pool2d_forward(x, *ap), torch_ap_f,
           ours_ap_fb, lambda: F.avg_pool2d(tx, 3, 2, 1).backward(tgy), repeat)

    x7 = rng.standard_normal((32, 512, 7, 7)).astype(dtype)
    tx7 = torch.from_numpy(x7).requires_grad_(True)
    gy1 = rng.standard_normal((32, 512, 1, 1)).astype(dtype)
    tgy1 = torch.from_numpy(gy1)

    def ours_ad_fb():
        adaptive_avg_pool2d_forward(x7, (1, 1))
        adaptive_avg_pool2d_backward(gy1, x7.shape)

    def torch_ad_f():
        with torch.no_grad():
            F.adaptive_avg_pool2d(tx7, 1)

    report("adaptive avg 512x7x7 -> 1x1", lambda: adaptive_avg_pool2d_forward(x7, (1, 1)),
           torch_ad_f, ours_ad_fb,
           lambda: F.adaptive_avg_pool2d(tx7, 1).backward(tgy1), repeat)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--stat", default="median", choices=["median", "min"])
    args = ap.parse_args()
    global STAT
    STAT = np.min if args.stat == "min" else np.median
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    dtype = np.dtype(args.dtype)
    print(f"batch 32, {args.dtype}, torch {torch.__version__} on {args.threads} threads; "
          f"{args.stat} ms of {args.repeat} runs, nanotorch / torch")
    for spec in CONVS:
        bench_conv(spec, dtype, rng, args.repeat)
    bench_pools(dtype, rng, args.repeat)


if __name__ == "__main__":
    main()
