"""Layers A of issue 11 against PyTorch: Conv1d, ConvTranspose1d/2d, Unfold/Fold, GroupNorm,
InstanceNorm1d/2d, interpolate / Upsample, adaptive max pooling, 1-d pooling and full
backward hooks. Values, gradients (input, weight, bias), seeded initialisation, reprs and
error messages. Tolerances: float32 / float64 rounding of a sum of ``n`` terms, relative to
the magnitude of the result."""
import math

import numpy as np
import pytest

import nanotorch as nt  # before torch: torch first slows nanotorch down
import nanotorch.nn as nn
import nanotorch.nn.functional as F

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

DTYPES = [np.float32, np.float64]


def tol(dtype, n):
    """Bound on the rounding error of a sum of ``n`` terms, relative to the result's scale."""
    return 8 * np.finfo(dtype).eps * math.sqrt(max(n, 1))


def close(ours, ref, dtype, n):
    a, b = ours.detach().numpy(), ref.detach().numpy()
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    scale = max(float(np.abs(b).max()) if b.size else 0.0, 1.0)
    np.testing.assert_allclose(a, b, rtol=0, atol=tol(dtype, n) * scale)


def parity(nt_fn, t_fn, arrays, dtype, n, seed=1):
    """Forward and backward of both with one random upstream gradient; compares the
    outputs and the gradient of every array (``None`` entries are passed through)."""
    ours = [None if a is None else nt.tensor(a.copy(), requires_grad=True) for a in arrays]
    ref = [None if a is None else torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    y, yt = nt_fn(*ours), t_fn(*ref)
    close(y, yt, dtype, n)
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(nt.tensor(g))
    yt.backward(torch.tensor(g))
    for a, b in zip(ours, ref):
        if a is not None:
            close(a.grad, b.grad, dtype, n * 4)
    return y, yt


def rand(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def message(fn):
    with pytest.raises(Exception) as e:
        fn()
    return type(e.value), str(e.value)


def same_error(nt_fn, t_fn, *args, **kw):
    """Both raise the same exception type and message; NumPy arrays among ``args`` are
    passed as tensors of each library."""
    def call(fn, lib):
        return lambda: fn(*[lib.tensor(a) if isinstance(a, np.ndarray) else a for a in args],
                          **kw)
    assert message(call(nt_fn, nt)) == message(call(t_fn, torch))


# ------------------------------------------------------------------ convolutions

CONV1D = [((2, 4, 11), (6, 4, 3), dict(stride=2, padding=1)),
          ((2, 4, 11), (6, 2, 4), dict(padding="same", dilation=2, groups=2)),
          ((3, 9), (5, 3, 3), dict(padding="valid")),
          ((2, 4, 9), (8, 1, 3), dict(groups=4, padding=2))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ws,kw", CONV1D)
def test_conv1d_parity(xs, ws, kw, dtype):
    b = rand(ws[0], dtype, 2)
    y, yt = parity(lambda x, w, b: F.conv1d(x, w, b, **kw),
                   lambda x, w, b: TF.conv1d(x, w, b, **kw),
                   [rand(xs, dtype), rand(ws, dtype, 1), b], dtype, ws[1] * ws[2])
    assert type(y.grad_fn).__name__ == type(yt.grad_fn).__name__


CONVT = [((2, 4, 5, 6), (4, 3, 3, 3), {}),
         ((2, 4, 5, 6), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
         ((2, 4, 5, 6), (4, 3, 3, 2), dict(stride=(2, 3), padding=(1, 0), output_padding=(0, 2),
                                           dilation=(1, 2))),
         ((2, 4, 5, 6), (4, 3, 3, 3), dict(groups=2, stride=2)),
         ((2, 4, 5, 6), (4, 3, 3, 3), dict(dilation=2, output_padding=1)),  # op >= stride
         ((2, 8, 5, 6), (8, 1, 3, 3), dict(groups=4, stride=2)),  # depthwise kernel
         ((2, 4, 5, 6), (4, 3, 1, 1), {}),  # pointwise
         ((4, 5, 6), (4, 2, 2, 2), dict(stride=2))]  # unbatched


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ws,kw", CONVT)
def test_conv_transpose2d_parity(xs, ws, kw, dtype):
    b = rand(ws[1] * kw.get("groups", 1), dtype, 2)
    y, yt = parity(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
                   lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
                   [rand(xs, dtype), rand(ws, dtype, 1), b], dtype, ws[0] * ws[2] * ws[3])
    assert type(y.grad_fn).__name__ == type(yt.grad_fn).__name__


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose1d_parity(dtype):
    kw = dict(stride=3, padding=1, output_padding=2, groups=2)
    parity(lambda x, w, b: F.conv_transpose1d(x, w, b, **kw),
           lambda x, w, b: TF.conv_transpose1d(x, w, b, **kw),
           [rand((2, 4, 7), dtype), rand((4, 3, 3), dtype, 1), rand(6, dtype, 2)], dtype, 12)
    parity(lambda x, w: F.conv_transpose1d(x, w), lambda x, w: TF.conv_transpose1d(x, w),
           [rand((4, 7), dtype), rand((4, 3, 2), dtype, 1)], dtype, 8)


@pytest.mark.parametrize("cls,args,kw", [
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1, bias=False)),
    ("Conv1d", (4, 6, 3), dict(padding="same", groups=2)),
    ("ConvTranspose1d", (4, 6, 3), dict(stride=2, output_padding=1, padding=1)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, output_padding=1, groups=2, dilation=2,
                                        bias=False)),
    ("ConvTranspose2d", (3, 5, (2, 3)), {}),
])
def test_conv_modules_init_repr_and_forward(cls, args, kw):
    nt.manual_seed(7)
    torch.manual_seed(7)
    ours, ref = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    assert repr(ours) == repr(ref)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), ref.named_parameters()):
        assert name == tname
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy())
    dims = 1 if cls.endswith("1d") else 2
    x = rand((2, args[0]) + (7,) * dims, np.float32)
    close(ours(nt.tensor(x)), ref(torch.tensor(x)), np.float32, 64)


def test_conv_transpose_output_size():
    nt.manual_seed(0)
    m = nn.ConvTranspose2d(4, 3, 3, stride=2)
    tm = torch.nn.ConvTranspose2d(4, 3, 3, stride=2)
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    x = rand((1, 4, 5, 5), np.float32)
    for size in [(12, 12), (1, 3, 11, 12), [12, 11]]:
        close(m(nt.tensor(x), output_size=size), tm(torch.tensor(x), output_size=size),
              np.float32, 36)
    with pytest.raises(ValueError, match=r"requested an output size of \(14, 14\), but valid "
                                          r"sizes range from \[11, 11\] to \[12, 12\]"):
        m(nt.tensor(x), output_size=(14, 14))


def test_conv_errors_match_torch():
    x, w = np.zeros((2, 5, 5, 5), np.float32), np.zeros((4, 3, 3, 3), np.float32)
    cases = [
        ("conv1d", (np.zeros((2, 3, 4, 5), np.float32), np.zeros((4, 3, 3), np.float32)), {}),
        ("conv1d", (np.zeros((2, 3, 5), np.float32), np.zeros((4, 2, 3), np.float32)), {}),
        ("conv_transpose2d", (x, w), {}),
        ("conv_transpose2d", (np.zeros((5, 5), np.float32), w), {}),
        ("conv_transpose2d", (x[:, :4], w), dict(output_padding=2, stride=2)),
        ("conv_transpose2d", (x[:, :4], w, np.zeros(4, np.float32)), {}),
        ("conv_transpose2d", (x[:, :4], w), dict(groups=3)),
        ("conv_transpose2d", (x[:, :4], w), dict(padding=-1)),
        ("conv_transpose1d", (x[:, :4, 0], w[..., 0]), dict(stride=0)),
        ("conv_transpose2d", (x[:, :4], w), dict(padding="same")),
    ]
    for name, arrays, kw in cases:
        same_error(getattr(F, name), getattr(TF, name), *arrays, **kw)
    for kw in [dict(groups=3), dict(padding_mode="reflect"), dict(groups=0)]:
        with pytest.raises(ValueError):
            nn.ConvTranspose2d(4, 3, 3, **kw)
    with pytest.raises(ValueError, match="Invalid padding string 'foo', should be one of"):
        nn.Conv1d(4, 3, 3, padding="foo")


# ------------------------------------------------------------------ unfold / fold

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(1, 2),
                                                         padding=1, stride=(2, 1))])
def test_unfold_fold_parity(kw, dtype):
    y, yt = parity(lambda x: F.unfold(x, **kw), lambda x: TF.unfold(x, **kw),
                   [rand((2, 3, 6, 7), dtype)], dtype, 1)
    assert type(y.grad_fn).__name__ == "Im2ColBackward0"
    cols = rand(tuple(yt.shape), dtype, 3)
    y, _ = parity(lambda c: F.fold(c, (6, 7), **kw), lambda c: TF.fold(c, (6, 7), **kw), [cols],
                  dtype, 6)
    assert type(y.grad_fn).__name__ == "Col2ImBackward0"
    # unbatched
    parity(lambda x: F.unfold(x, **kw), lambda x: TF.unfold(x, **kw), [rand((3, 6, 7), dtype)],
           dtype, 1)
    parity(lambda c: F.fold(c, (6, 7), **kw), lambda c: TF.fold(c, (6, 7), **kw), [cols[0]],
           dtype, 6)


def test_fold_unfold_modules_and_errors():
    for ours, ref in [(nn.Unfold(2, padding=1), torch.nn.Unfold(2, padding=1)),
                      (nn.Fold((4, 5), 2, stride=2), torch.nn.Fold((4, 5), 2, stride=2))]:
        assert repr(ours) == repr(ref)
    x = rand((1, 2, 4, 4), np.float32)
    close(nn.Unfold(3, padding=1)(nt.tensor(x)), torch.nn.Unfold(3, padding=1)(torch.tensor(x)),
          np.float32, 1)
    cases = [("unfold", (2, 3, 4, 4), (5,)), ("unfold", (2, 3, 4, 4, 3), (2,)),
             ("unfold", (2, 3, 4, 4), (2, 1, 0, 0)), ("unfold", (2, 3, 4, 4), (2, 1, -1)),
             ("unfold", (2, 3, 4, 4), (2, 0)),
             ("fold", (2, 11, 9), ((4, 4), 2)), ("fold", (2, 12, 8), ((4, 4), 2)),
             ("fold", (2, 12, 9, 3), ((4, 4), 2))]
    for name, shape, args in cases:
        same_error(getattr(F, name), getattr(TF, name), np.zeros(shape, np.float32), *args)


# ------------------------------------------------------------------ pooling

def distinct(shape, dtype, seed=0):
    """Values 0.1 apart in random order (no ties: max pooling's gradient is well defined)."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n) * 0.1 - 0.05 * n).reshape(shape) \
        .astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,size", [((2, 3, 9, 7), (4, 3)), ((2, 3, 5, 8), (5, None)),
                                        ((3, 6, 6), 4), ((1, 2, 3, 3), (7, 5))])
def test_adaptive_max_pool2d_parity(shape, size, dtype):
    x = distinct(shape, dtype)
    y, yt = parity(lambda x: F.adaptive_max_pool2d(x, size),
                   lambda x: TF.adaptive_max_pool2d(x, size), [x], dtype, 1)
    if len(shape) == 4:
        assert type(y.grad_fn).__name__ == type(yt.grad_fn).__name__
    _, idx = F.adaptive_max_pool2d(nt.tensor(x), size, return_indices=True)
    _, tidx = TF.adaptive_max_pool2d(torch.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert idx.dtype == nt.int64
    m, tm = nn.AdaptiveMaxPool2d(size, return_indices=True), \
        torch.nn.AdaptiveMaxPool2d(size, return_indices=True)
    assert repr(m) == repr(tm)
    np.testing.assert_array_equal(m(nt.tensor(x))[1].numpy(), tm(torch.tensor(x))[1].numpy())


def test_adaptive_max_pool2d_nan_propagates_like_torch():
    x = distinct((1, 1, 4, 4), np.float32)
    x[0, 0, 1, 2] = np.nan
    y, idx = F.adaptive_max_pool2d(nt.tensor(x), 2, return_indices=True)
    yt, tidx = TF.adaptive_max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=2, dilation=2, ceil_mode=True)])
def test_max_pool1d_parity(kw, dtype):
    for shape in [(2, 3, 11), (3, 10)]:
        x = distinct(shape, dtype)
        parity(lambda x: F.max_pool1d(x, **kw), lambda x: TF.max_pool1d(x, **kw), [x], dtype, 1)
        _, idx = F.max_pool1d(nt.tensor(x), return_indices=True, **kw)
        _, tidx = TF.max_pool1d(torch.tensor(x), return_indices=True, **kw)
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    m, tm = nn.MaxPool1d(**kw), torch.nn.MaxPool1d(**kw)
    assert repr(m) == repr(tm)
    close(m(nt.tensor(x)), tm(torch.tensor(x)), dtype, 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                     count_include_pad=False)])
def test_avg_pool1d_parity(kw, dtype):
    for shape in [(2, 3, 11), (3, 10)]:
        parity(lambda x: F.avg_pool1d(x, **kw), lambda x: TF.avg_pool1d(x, **kw),
               [rand(shape, dtype)], dtype, 3)
    m, tm = nn.AvgPool1d(**kw), torch.nn.AvgPool1d(**kw)
    assert repr(m) == repr(tm)
    x = rand((2, 3, 11), dtype)
    close(m(nt.tensor(x)), tm(torch.tensor(x)), dtype, 3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,size", [((2, 3, 11), 4), ((3, 5), 7), ((2, 2, 9), (3,))])
def test_adaptive_pool1d_parity(shape, size, dtype):
    parity(lambda x: F.adaptive_avg_pool1d(x, size), lambda x: TF.adaptive_avg_pool1d(x, size),
           [rand(shape, dtype)], dtype, shape[-1])
    x = distinct(shape, dtype)
    parity(lambda x: F.adaptive_max_pool1d(x, size), lambda x: TF.adaptive_max_pool1d(x, size),
           [x], dtype, 1)
    y, idx = nn.AdaptiveMaxPool1d(size, return_indices=True)(nt.tensor(x))
    yt, tidx = torch.nn.AdaptiveMaxPool1d(size, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    m, tm = nn.AdaptiveAvgPool1d(size), torch.nn.AdaptiveAvgPool1d(size)
    assert repr(m) == repr(tm)
    close(m(nt.tensor(x)), tm(torch.tensor(x)), dtype, shape[-1])


def test_pool_errors_match_torch():
    cases = [("max_pool1d", (2, 3, 4, 5), (2,)), ("max_pool1d", (3,), (2,)),
             ("max_pool1d", (2, 3, 4), (5,)), ("max_pool1d", (2, 3, 4), (2, None, 2)),
             ("avg_pool1d", (2, 3, 4, 5), (2,)), ("avg_pool1d", (2, 3, 4), (2, None, 2)),
             ("adaptive_avg_pool1d", (2, 3, 4, 5), (2,)),
             ("adaptive_avg_pool1d", (2, 3, 4), ((2, 2),))]
    for name, shape, args in cases:
        same_error(getattr(F, name), getattr(TF, name), np.zeros(shape, np.float32), *args)


# ------------------------------------------------------------------ group / instance norm

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,groups,affine", [((2, 6, 5, 4), 3, "wb"), ((2, 6), 2, "w"),
                                                 ((3, 6, 7), 6, ""), ((2, 4, 3), 1, "wb")])
def test_group_norm_parity(shape, groups, affine, dtype):
    c = shape[1]
    w = rand(c, dtype, 1) if "w" in affine else None
    b = rand(c, dtype, 2) if "b" in affine else None
    n = int(np.prod(shape[1:])) // groups
    y, yt = parity(lambda x, w, b: F.group_norm(x, groups, w, b),
                   lambda x, w, b: TF.group_norm(x, groups, w, b),
                   [rand(shape, dtype), w, b], dtype, n)
    assert type(y.grad_fn).__name__ == type(yt.grad_fn).__name__


@pytest.mark.parametrize("kw", [{}, dict(affine=False), dict(eps=1e-3, bias=False)])
def test_group_norm_module(kw):
    m, tm = nn.GroupNorm(2, 6, **kw), torch.nn.GroupNorm(2, 6, **kw)
    assert repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    x = rand((3, 6, 4, 4), np.float32)
    close(m(nt.tensor(x)), tm(torch.tensor(x)), np.float32, 48)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (2, 3, 6)])
def test_instance_norm_functional_parity(shape, dtype):
    c = shape[1]
    y, yt = parity(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                   lambda x, w, b: TF.instance_norm(x, weight=w, bias=b),
                   [rand(shape, dtype), rand(c, dtype, 1), rand(c, dtype, 2)], dtype, 20)
    assert type(y.grad_fn).__name__ == type(yt.grad_fn).__name__
    rm, rv = rand(c, dtype, 3), np.abs(rand(c, dtype, 4)) + 0.5
    ours = nt.tensor(rm.copy()), nt.tensor(rv.copy())
    ref = torch.tensor(rm.copy()), torch.tensor(rv.copy())
    for stats in (True, False):
        kw = dict(use_input_stats=stats, momentum=0.3)
        parity(lambda x, kw=kw: F.instance_norm(x, *ours, **kw),
               lambda x, kw=kw: TF.instance_norm(x, *ref, **kw),
               [rand(shape, dtype, 5)], dtype, 20)
        for a, b in zip(ours, ref):
            close(a, b, dtype, 20)


@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (4, 3, 7)), ("InstanceNorm1d", (3, 7)),
                                       ("InstanceNorm2d", (2, 3, 4, 5)),
                                       ("InstanceNorm2d", (3, 4, 5))])
@pytest.mark.parametrize("kw", [{}, dict(affine=True, track_running_stats=True, momentum=0.2),
                                dict(affine=True, bias=False), dict(track_running_stats=True,
                                                                    momentum=None)])
def test_instance_norm_modules(cls, shape, kw):
    m, tm = getattr(nn, cls)(3, **kw), getattr(torch.nn, cls)(3, **kw)
    assert repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    for step in range(2):
        x = rand(shape, np.float32, step)
        close(m(nt.tensor(x)), tm(torch.tensor(x)), np.float32, 20)
    for (k, v), (tk, tv) in zip(m.state_dict().items(), tm.state_dict().items()):
        assert k == tk
        if v.is_floating_point():
            close(v, tv, np.float32, 20)
        else:
            np.testing.assert_array_equal(v.numpy(), tv.numpy())
    m.eval()
    tm.eval()
    x = rand(shape, np.float32, 9)
    close(m(nt.tensor(x)), tm(torch.tensor(x)), np.float32, 20)


def test_norm_errors_match_torch():
    x = np.zeros((2, 6, 4), np.float32)
    same_error(F.group_norm, TF.group_norm, x, 4)
    same_error(F.group_norm, TF.group_norm, np.zeros(6, np.float32), 3)
    same_error(F.group_norm, TF.group_norm, x, 3, np.zeros(5, np.float32))
    same_error(F.instance_norm, TF.instance_norm, np.zeros((2, 3, 1), np.float32))
    same_error(F.instance_norm, TF.instance_norm, x[:, :3], np.zeros(2, np.float32),
               np.ones(3, np.float32))
    same_error(nn.GroupNorm, torch.nn.GroupNorm, 4, 6)
    for cls, shape in [("InstanceNorm1d", (2, 3, 4, 5)), ("InstanceNorm2d", (3, 4))]:
        same_error(getattr(nn, cls)(3), getattr(torch.nn, cls)(3), np.zeros(shape, np.float32))
    same_error(nn.InstanceNorm2d(3, affine=True), torch.nn.InstanceNorm2d(3, affine=True),
               np.zeros((2, 4, 4, 4), np.float32))


# ------------------------------------------------------------------ interpolate / Upsample

SIZES_2D = [dict(size=(9, 4)), dict(scale_factor=2), dict(scale_factor=(1.7, 0.6)),
            dict(scale_factor=0.5, recompute_scale_factor=True), dict(size=(5, 7)),
            dict(size=(3, 13))]
SIZES_1D = [dict(size=12), dict(scale_factor=2.5), dict(scale_factor=0.4), dict(size=3)]
MODES = [(d, m, ac) for d in (1, 2) for m, ac in
         [("nearest", None), ("nearest-exact", None), ("area", None),
          ("linear" if d == 1 else "bilinear", False), ("linear" if d == 1 else "bilinear", True)]
         ] + [(2, "bicubic", False), (2, "bicubic", True)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims,mode,align_corners", MODES)
def test_interpolate_parity(dims, mode, align_corners, dtype):
    shape = (2, 3, 5, 7) if dims == 2 else (2, 3, 7)
    for i, kw in enumerate(SIZES_2D if dims == 2 else SIZES_1D):
        kw = dict(kw, mode=mode, align_corners=align_corners)
        y, yt = parity(lambda x, kw=kw: F.interpolate(x, **kw),
                       lambda x, kw=kw: TF.interpolate(x, **kw), [rand(shape, dtype, i)],
                       dtype, 16)
        assert type(y.grad_fn).__name__ == type(yt.grad_fn).__name__


def test_upsample_modules():
    x = rand((1, 2, 4, 5), np.float32)
    for args, kw in [((), dict(scale_factor=2)), (((3, 4),), dict(mode="bilinear")),
                     ((), dict(scale_factor=1.5, mode="bicubic", align_corners=True))]:
        m, tm = nn.Upsample(*args, **kw), torch.nn.Upsample(*args, **kw)
        assert repr(m) == repr(tm)
        close(m(nt.tensor(x)), tm(torch.tensor(x)), np.float32, 16)
    for name in ("UpsamplingNearest2d", "UpsamplingBilinear2d"):
        m, tm = getattr(nn, name)(scale_factor=2), getattr(torch.nn, name)(scale_factor=2)
        assert repr(m) == repr(tm)
        close(m(nt.tensor(x)), tm(torch.tensor(x)), np.float32, 16)


def test_interpolate_errors_match_torch():
    x3, x4 = np.zeros((1, 2, 4), np.float32), np.zeros((1, 2, 4, 4), np.float32)
    cases = [(x4, dict(size=2, align_corners=True)), (x4, dict(size=2, scale_factor=2)),
             (x4, {}), (x4, dict(size=(2, 2, 2))), (x4, dict(scale_factor=(2, 2, 2))),
             (x4, dict(size=2, recompute_scale_factor=True)),
             (x3, dict(size=2, mode="bilinear")), (x4, dict(size=2, mode="linear")),
             (x3, dict(size=2, mode="linear", antialias=True))]
    for x, kw in cases:
        same_error(F.interpolate, TF.interpolate, x, **kw)
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(nt.tensor(x4), size=2, mode="bilinear", antialias=True)


# ------------------------------------------------------------------ full backward hooks

def _hooked_linear_run(lib, nn_mod, x_requires_grad, replace_input=False, replace_output=False):
    """Seeded Linear with a full backward hook and pre-hook; returns what they saw and the
    resulting gradients, as NumPy arrays."""
    lib.manual_seed(0)
    m = nn_mod.Linear(3, 2)
    seen = {}

    def hook(mod, grad_input, grad_output):
        assert mod is m
        seen["grad_input"] = [None if g is None else g.detach().numpy().copy()
                              for g in grad_input]
        seen["grad_output"] = [g.detach().numpy().copy() for g in grad_output]
        if replace_input:
            return tuple(None if g is None else g * 2 for g in grad_input)

    def pre_hook(mod, grad_output):
        seen["pre"] = [g.detach().numpy().copy() for g in grad_output]
        if replace_output:
            return tuple(g * 3 for g in grad_output)

    m.register_full_backward_hook(hook)
    handle = m.register_full_backward_pre_hook(pre_hook)
    x = lib.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3),
                   requires_grad=x_requires_grad)
    upstream = lib.tensor(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    (m(x) * upstream).sum().backward()
    seen["x.grad"] = None if x.grad is None else x.grad.numpy().copy()
    seen["weight.grad"] = m.weight.grad.numpy().copy()
    handle.remove()
    seen.pop("pre")
    m.weight.grad = None
    (m(x) * upstream).sum().backward()  # the removed pre-hook no longer runs
    assert "pre" not in seen
    return seen


@pytest.mark.parametrize("kw", [dict(x_requires_grad=True),
                                dict(x_requires_grad=False),
                                dict(x_requires_grad=True, replace_input=True),
                                dict(x_requires_grad=True, replace_output=True)])
@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_full_backward_hooks_match_torch(kw):
    ours, ref = _hooked_linear_run(nt, nn, **kw), _hooked_linear_run(torch, torch.nn, **kw)
    assert ours.keys() == ref.keys()
    for key in ours:
        a, b = ours[key], ref[key]
        if isinstance(a, list):
            assert len(a) == len(b)
            for u, v in zip(a, b):
                assert (u is None) == (v is None)
                if u is not None:
                    np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-6)
        elif a is None:
            assert b is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_full_backward_hook_not_fired_without_grad_and_bad_returns():
    m = nn.Linear(3, 2)
    calls = []
    m.register_full_backward_hook(lambda mod, gi, go: calls.append(1))
    with nt.no_grad():
        m(nt.randn(2, 3))
    m.requires_grad_(False)
    m(nt.randn(2, 3))
    assert calls == []
    m.requires_grad_(True)
    bad = nn.Linear(3, 2)
    bad.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of "
                                           "grad_input, got 2, but expected 1"):
        bad(nt.randn(2, 3, requires_grad=True)).sum().backward()
    bad = nn.Linear(3, 2)
    bad.register_full_backward_pre_hook(lambda mod, go: (go[0], go[0]))
    with pytest.raises(RuntimeError, match="Backward pre hook returned an invalid number of "
                                           "grad_output, got 2, but expected 1"):
        bad(nt.randn(2, 3)).sum().backward()
