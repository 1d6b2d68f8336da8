"""Time the fused nanotorch kernels (norm, softmax, loss, activation, optim)
against their torch CPU equivalents on realistic sizes.

Usage: python benchmarks/kernels_fused.py [--repeat N] [--only SUBSTRING]
Prints the median time of each, ratio = ours / torch of the medians (below 1:
we are faster), and the minimum times (steadier on a shared machine). Both
sides use 2 threads; the first call of each kernel (Numba compile) is not timed.
"""
import argparse  # noqa: I001  (nanotorch is imported before torch, on purpose)
import time

import numpy as np

# nanotorch before torch: importing torch first slows nanotorch's kernels down
from nanotorch.kernels import activation as A
from nanotorch.kernels import loss as L
from nanotorch.kernels import norm as N
from nanotorch.kernels import optim as O
from nanotorch.kernels import softmax as S

import torch

torch.set_num_threads(2)
F = torch.nn.functional
aten = torch.ops.aten


def time_ms(fn, repeat):
    """(median, min) wall time of fn() in ms, after one untimed call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times)), 1e3 * float(np.min(times))


def cases(rng):
    """Yield (name, ours, theirs) pairs of zero-argument callables."""
    f32 = np.float32

    def arr(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(f32)

    def batch_norm_cases(kind, shape):
        """Train forward and backward on ``shape``, and the eval forward for bn2d."""
        size, c = str(shape).replace(" ", ""), shape[1]
        x, g = arr(*shape), arr(*shape)
        w, b = arr(c), arr(c)
        tx, tg, tw, tb = map(torch.from_numpy, (x, g, w, b))
        rm, rv = torch.zeros(c), torch.ones(c)
        _, mean, invstd, _ = N.batch_norm_train_forward(x, w, b, 1e-5)
        _, smean, sinv = torch.native_batch_norm(tx, tw, tb, rm, rv, True, 0.1, 1e-5)
        yield (f"{kind} train fwd {size}", lambda: N.batch_norm_train_forward(x, w, b, 1e-5),
               lambda: torch.native_batch_norm(tx, tw, tb, rm, rv, True, 0.1, 1e-5))
        yield (f"{kind} train bwd {size}",
               lambda: N.batch_norm_backward(g, x, mean, invstd, w, True, True, True),
               lambda: aten.native_batch_norm_backward(tg, tx, tw, rm, rv, smean, sinv, True,
                                                       1e-5, [True, True, True]))
        if kind == "bn2d":
            rmn, rvn = np.zeros(c, f32), np.ones(c, f32)
            yield (f"{kind} eval fwd {size}",
                   lambda: N.batch_norm_eval_forward(x, rmn, rvn, w, b, 1e-5),
                   lambda: F.batch_norm(tx, rm, rv, tw, tb, training=False))

    yield from batch_norm_cases("bn2d", (64, 64, 32, 32))
    yield from batch_norm_cases("bn1d", (512, 1024))

    # ---- layer norm, (8192, 768)
    x, g = arr(8192, 768), arr(8192, 768)
    w, b = arr(768), arr(768)
    tx, tg, tw, tb = map(torch.from_numpy, (x, g, w, b))
    _, mean, invstd = N.layer_norm_forward(x, 1, w, b, 1e-5)
    _, tmean, trstd = torch.native_layer_norm(tx, [768], tw, tb, 1e-5)
    yield ("layer_norm fwd (8192,768)", lambda: N.layer_norm_forward(x, 1, w, b, 1e-5),
           lambda: torch.native_layer_norm(tx, [768], tw, tb, 1e-5))
    yield ("layer_norm bwd (8192,768)",
           lambda: N.layer_norm_backward(g, x, mean, invstd, w, 1, True, True, True),
           lambda: aten.native_layer_norm_backward(tg, tx, [768], tmean, trstd, tw, tb,
                                                   [True, True, True]))

    # ---- softmax
    for shape, axis in (((4096, 1024), -1), ((64, 12, 128, 128), -1), ((64, 1000, 16), 1)):
        x, g = arr(*shape, scale=3.0), arr(*shape)
        tx, tg = torch.from_numpy(x), torch.from_numpy(g)
        y, ly = S.softmax_forward(x, axis), S.log_softmax_forward(x, axis)
        ty, tly = torch._softmax(tx, axis, False), torch._log_softmax(tx, axis, False)
        tag = f"{shape} axis={axis}"
        yield (f"softmax fwd {tag}", lambda x=x, a=axis: S.softmax_forward(x, a),
               lambda tx=tx, a=axis: torch._softmax(tx, a, False))
        yield (f"softmax bwd {tag}", lambda g=g, y=y, a=axis: S.softmax_backward(g, y, a),
               lambda tg=tg, ty=ty, a=axis: torch._softmax_backward_data(tg, ty, a,
                                                                          torch.float32))
        yield (f"log_softmax fwd {tag}", lambda x=x, a=axis: S.log_softmax_forward(x, a),
               lambda tx=tx, a=axis: torch._log_softmax(tx, a, False))
        yield (f"log_softmax bwd {tag}",
               lambda g=g, y=ly, a=axis: S.log_softmax_backward(g, y, a),
               lambda tg=tg, ty=tly, a=axis: torch._log_softmax_backward_data(tg, ty, a,
                                                                              torch.float32))
    x = arr(4096, 1024)
    tx = torch.from_numpy(x)
    yield ("logsumexp (4096,1024) axis=-1", lambda: S.logsumexp(x, -1),
           lambda: torch.logsumexp(tx, -1))

    # ---- cross-entropy: forward, and forward + backward through autograd
    for shape, ls in (((512, 1000), 0.0), ((512, 1000), 0.1), ((16, 21, 64, 64), 0.0)):
        x = arr(*shape, scale=3.0)
        c = shape[1]
        t = rng.integers(0, c, (shape[0],) + shape[2:])
        tx, tt = torch.from_numpy(x), torch.from_numpy(t)
        txr = tx.clone().requires_grad_(True)

        def ours_fb(x=x, t=t, ls=ls):
            _, saved = L.cross_entropy_forward(x, t, None, -100, "mean", ls)
            L.cross_entropy_backward(1.0, x, t, saved, None, -100, "mean", ls)

        def torch_fb(txr=txr, tt=tt, ls=ls):
            F.cross_entropy(txr, tt, label_smoothing=ls).backward()

        tag = f"{shape} ls={ls}"
        yield (f"cross_entropy fwd {tag}",
               lambda x=x, t=t, ls=ls: L.cross_entropy_forward(x, t, None, -100, "mean", ls),
               lambda tx=tx, tt=tt, ls=ls: F.cross_entropy(tx, tt, label_smoothing=ls))
        yield (f"cross_entropy fwd+bwd {tag}", ours_fb, torch_fb)

    x, y = arr(1024, 1000), (rng.random((1024, 1000)) > 0.5).astype(f32)
    pw = (rng.random(1000) + 0.5).astype(f32)
    tx, ty, tpw = map(torch.from_numpy, (x, y, pw))
    txr = tx.clone().requires_grad_(True)

    def bce_ours():
        L.bce_with_logits_forward(x, y, None, pw, "mean")
        L.bce_with_logits_backward(1.0, x, y, None, pw, "mean")

    def bce_torch():
        F.binary_cross_entropy_with_logits(txr, ty, pos_weight=tpw).backward()

    yield ("bce_logits fwd (1024,1000) pos_weight",
           lambda: L.bce_with_logits_forward(x, y, None, pw, "mean"),
           lambda: F.binary_cross_entropy_with_logits(tx, ty, pos_weight=tpw))
    yield ("bce_logits fwd+bwd (1024,1000) pos_weight", bce_ours, bce_torch)

    # ---- activations on (512, 4096)
    for shape in ((512, 4096), (64, 1024)):
        x, g = arr(*shape, scale=2.0), arr(*shape)
        tx, tg = torch.from_numpy(x), torch.from_numpy(g)
        yr, ts, tt = np.maximum(x, 0), torch.sigmoid(tx), torch.tanh(tx)
        s, th = ts.numpy(), tt.numpy()
        tyr = torch.from_numpy(yr)
        tag = str(shape)
        yield (f"gelu fwd {tag}", lambda x=x: A.gelu_forward(x), lambda tx=tx: F.gelu(tx))
        yield (f"gelu bwd {tag}", lambda g=g, x=x: A.gelu_backward(g, x),
               lambda tg=tg, tx=tx: aten.gelu_backward(tg, tx))
        yield (f"gelu-tanh fwd {tag}", lambda x=x: A.gelu_forward(x, "tanh"),
               lambda tx=tx: F.gelu(tx, approximate="tanh"))
        yield (f"gelu-tanh bwd {tag}", lambda g=g, x=x: A.gelu_backward(g, x, "tanh"),
               lambda tg=tg, tx=tx: aten.gelu_backward(tg, tx, approximate="tanh"))
        yield (f"silu fwd {tag}", lambda x=x: A.silu_forward(x), lambda tx=tx: F.silu(tx))
        yield (f"silu bwd {tag}", lambda g=g, x=x: A.silu_backward(g, x),
               lambda tg=tg, tx=tx: aten.silu_backward(tg, tx))
        yield (f"relu bwd {tag}", lambda g=g, y=yr: A.relu_backward(g, y),
               lambda tg=tg, ty=tyr: aten.threshold_backward(tg, ty, 0))
        yield (f"sigmoid bwd {tag}", lambda g=g, y=s: A.sigmoid_backward(g, y),
               lambda tg=tg, ty=ts: aten.sigmoid_backward(tg, ty))
        yield (f"tanh bwd {tag}", lambda g=g, y=th: A.tanh_backward(g, y),
               lambda tg=tg, ty=tt: aten.tanh_backward(tg, ty))
        yield (f"leaky_relu bwd {tag}", lambda g=g, x=x: A.leaky_relu_backward(g, x, 0.01),
               lambda tg=tg, tx=tx: aten.leaky_relu_backward(tg, tx, 0.01, False))
        yield (f"hardtanh bwd {tag}", lambda g=g, x=x: A.hardtanh_backward(g, x, 0.0, 6.0),
               lambda tg=tg, tx=tx: aten.hardtanh_backward(tg, tx, 0.0, 6.0))

    # ---- optimizers: one step on a flat parameter
    for n in (10_000_000, 100_000):
        p, gr = arr(n), arr(n)
        buf, m, v, vmax = (np.zeros(n, f32) for _ in range(4))
        tp = torch.from_numpy(p.copy()).requires_grad_(True)
        tp.grad = torch.from_numpy(gr)
        sgd = torch.optim.SGD([tp], lr=1e-3, momentum=0.9, weight_decay=1e-4)
        adam = torch.optim.Adam([tp], lr=1e-3)
        adamw = torch.optim.AdamW([tp], lr=1e-3, weight_decay=0.01, amsgrad=True)
        yield (f"sgd momentum step n={n}",
               lambda p=p, gr=gr, buf=buf: O.sgd_step(p, gr, buf, 1e-3, 0.9, 0.0, 1e-4,
                                                      False, False, False),
               sgd.step)
        yield (f"adam step n={n}",
               lambda p=p, gr=gr, m=m, v=v: O.adam_step(p, gr, m, v, 5, 1e-3),
               adam.step)
        yield (f"adamw amsgrad step n={n}",
               lambda p=p, gr=gr, m=m, v=v, vm=vmax: O.adam_step(
                   p, gr, m, v, 5, 1e-3, 0.9, 0.999, 1e-8, 0.01, vm, False, True),
               adamw.step)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--only", default="", help="run only cases whose name contains this")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'case':48s} {'ours ms':>9s} {'torch ms':>9s} {'ratio':>6s}   (min: ours, torch)")
    for name, ours, theirs in cases(rng):
        if args.only not in name:
            continue
        med_o, min_o = time_ms(ours, args.repeat)
        med_t, min_t = time_ms(theirs, args.repeat)
        print(f"{name:48s} {med_o:9.3f} {med_t:9.3f} {med_o / med_t:6.2f}   "
              f"({min_o:.3f}, {min_t:.3f})", flush=True)


if __name__ == "__main__":
    main()
