"""Parity of nanotorch.kernels.conv with torch.nn.functional.conv2d (values and gradients)."""
import numba
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from nanotorch.kernels import conv  # noqa: E402
from nanotorch.kernels.conv import conv2d_backward, conv2d_forward  # noqa: E402

TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-4)}

# (N, C, H, W), (O, kh, kw), stride, padding, dilation, groups, bias
CASES = [
    ((2, 3, 9, 11), (4, 3, 3), (1, 1), (1, 1), (1, 1), 1, True),           # plain 3x3
    ((2, 4, 10, 9), (6, 3, 2), (2, 1), (2, 0), (1, 1), 2, False),          # groups=2, ph != pw
    ((1, 3, 12, 10), (5, 3, 3), (1, 2), (0, 3), (2, 1), 1, True),          # dilation, batch 1
    ((2, 4, 9, 11), (4, 3, 3), (1, 1), (1, 1), (1, 1), 4, True),           # depthwise
    ((2, 3, 10, 7), (6, 3, 3), (2, 2), (1, 1), (1, 1), 3, False),          # depthwise x2 multiplier
    ((2, 4, 11, 9), (8, 3, 5), (1, 2), (2, 1), (2, 1), 4, True),           # depthwise, dilated, odd
    ((2, 6, 7, 5), (4, 1, 1), (1, 1), (0, 0), (1, 1), 1, True),            # pointwise (pure matmul)
    ((2, 6, 7, 5), (4, 1, 1), (1, 1), (0, 0), (1, 1), 2, False),           # grouped pointwise
    ((3, 4, 9, 8), (6, 1, 1), (2, 2), (0, 0), (1, 1), 1, True),            # 1x1 stride 2
    ((2, 3, 13, 7), (4, 5, 5), (3, 2), (2, 2), (1, 1), 1, True),           # 5x5 s3, non-square
    ((1, 2, 5, 4), (3, 5, 4), (1, 1), (0, 0), (1, 1), 1, True),            # kernel covers input
    ((2, 2, 4, 5), (3, 2, 2), (1, 1), (3, 2), (1, 1), 1, False),           # padding > kernel
    ((2, 6, 8, 8), (3, 2, 2), (2, 2), (1, 0), (1, 1), 3, True),            # groups=3, Cg=2, Og=1
    ((2, 1, 6, 6), (4, 3, 3), (1, 1), (1, 1), (1, 1), 1, True),            # C == groups == 1
    # stride 1 with output rows as wide as the input: the shifted-band im2col
    ((2, 3, 7, 9), (4, 5, 5), (1, 1), (2, 2), (1, 1), 1, True),            # 5x5 'same'
    ((2, 3, 9, 8), (4, 3, 3), (1, 1), (2, 2), (2, 2), 1, False),           # dilated 'same'
    ((2, 3, 6, 7), (5, 3, 3), (1, 1), (0, 1), (1, 1), 1, True),            # OH < H, OW == W
    ((1, 2, 4, 3), (3, 5, 3), (1, 1), (3, 1), (1, 1), 1, True),            # rows of padding
    ((2, 3, 5, 1), (2, 3, 1), (1, 1), (1, 0), (1, 1), 1, False),           # width 1
]


def torch_conv(x, w, b, gy, stride, padding, dilation, groups):
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    ty = F.conv2d(tx, tw, tb, stride, padding, dilation, groups)
    ty.backward(torch.tensor(gy))
    return (ty.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(),
            None if b is None else tb.grad.numpy())


def make(case, dtype, seed=0):
    xs, (O, kh, kw), stride, padding, dilation, groups, bias = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal((O, xs[1] // groups, kh, kw)).astype(dtype)
    b = rng.standard_normal(O).astype(dtype) if bias else None
    return x, w, b, (stride, padding, dilation, groups)


def check_case(case, dtype, seed=0):
    x, w, b, args = make(case, dtype, seed)
    y = conv2d_forward(x, w, b, *args)
    gy = np.random.default_rng(seed + 1).standard_normal(y.shape).astype(dtype)
    ty, tgx, tgw, tgb = torch_conv(x, w, b, gy, *args)
    assert y.dtype == dtype and y.flags.c_contiguous and y.shape == ty.shape
    np.testing.assert_allclose(y, ty, **TOL[dtype])
    gx, gw, gb = conv2d_backward(x, w, gy, *args, True, True, b is not None)
    assert gx.dtype == dtype and gx.flags.c_contiguous and gw.flags.c_contiguous
    np.testing.assert_allclose(gx, tgx, **TOL[dtype])
    np.testing.assert_allclose(gw, tgw, **TOL[dtype])
    if b is None:
        assert gb is None
    else:
        np.testing.assert_allclose(gb, tgb, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES)
def test_parity(case, dtype):
    check_case(case, dtype)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("weight_grad_transposed", [True, False])
@pytest.mark.parametrize("chunk_samples", [1, 2])
def test_batch_chunking(monkeypatch, chunk_samples, weight_grad_transposed, threads):
    # force column chunks of 1 and of 2 samples (5 = 2 + 2 + 1: uneven last chunk),
    # shared by one or two worker threads, and both layouts of the weight-grad GEMM
    case = ((5, 3, 8, 9), (4, 3, 3), (1, 2), (1, 0), (1, 1), 1, True)
    per_sample = 3 * 3 * 3 * 8 * 4 * 8
    monkeypatch.setattr(conv, "_CHUNK_BYTES", per_sample * chunk_samples)
    monkeypatch.setattr(conv, "_MIN_GEMM_COLS", 1)
    monkeypatch.setattr(conv, "_SMALL_WEIGHT", 1 << 30 if weight_grad_transposed else 0)
    prev = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        check_case(case, np.float64)
        check_case(((5, 4, 8, 9), (6, 3, 3), (2, 1), (1, 1), (1, 2), 2, False), np.float64)
        check_case(((5, 4, 8, 9), (6, 1, 1), (1, 1), (0, 0), (1, 1), 1, True), np.float64)
    finally:
        numba.set_num_threads(prev)


def test_worker_error_propagates_and_pool_recovers(monkeypatch):
    x = np.ones((4, 2, 5, 5))
    w = np.ones((3, 2, 3, 3))
    calls = []

    def failing_im2col(*args):
        calls.append(1)
        raise MemoryError("boom")
    monkeypatch.setattr(conv, "_im2col", failing_im2col)
    with pytest.raises(MemoryError, match="boom"):
        conv2d_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1)
    monkeypatch.undo()
    y = conv2d_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1)
    assert calls and np.allclose(y[:, :, 2, 2], 18.0)


def test_non_contiguous_inputs():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 6, 2, 5)).transpose(2, 3, 0, 1)  # (2, 5, 7, 6) view
    w = rng.standard_normal((3, 5, 3, 3))[:, :, ::-1]
    y = conv2d_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1)
    gy = rng.standard_normal(y.shape[::-1]).T  # non-contiguous grad too
    ty, tgx, tgw, _ = torch_conv(np.ascontiguousarray(x), np.ascontiguousarray(w), None, gy,
                                 (1, 1), (1, 1), (1, 1), 1)
    gx, gw, _ = conv2d_backward(x, w, gy, (1, 1), (1, 1), (1, 1), 1, True, True, False)
    np.testing.assert_allclose(y, ty, **TOL[np.float64])
    np.testing.assert_allclose(gx, tgx, **TOL[np.float64])
    np.testing.assert_allclose(gw, tgw, **TOL[np.float64])


def test_empty_batch():
    x = np.zeros((0, 4, 6, 6))
    for wshape, g in [((4, 4, 3, 3), 1), ((4, 1, 3, 3), 4), ((4, 4, 1, 1), 1)]:
        w = np.ones(wshape)
        pad = (1, 1) if wshape[2] == 3 else (0, 0)
        y = conv2d_forward(x, w, None, (1, 1), pad, (1, 1), g)
        assert y.shape[0] == 0
        gx, gw, gb = conv2d_backward(x, w, y, (1, 1), pad, (1, 1), g, True, True, True)
        assert gx.shape == x.shape and gw.shape == w.shape and not gw.any() and not gb.any()


# which kernels must NOT run for each request (general, pointwise, depthwise paths)
PATH_CASES = [CASES[0], CASES[6], CASES[4]]
SKIPPED = {
    (True, False): ["_im2col", "_dw_grad_weight"],             # frozen backbone: grad_x only
    (False, True): ["_col2im", "_dw_grad_input"],               # first layer: grad_w only
    (False, False): ["_im2col", "_col2im", "_dw_grad_input", "_dw_grad_weight"],
}


@pytest.mark.parametrize("need", list(SKIPPED))
@pytest.mark.parametrize("case", PATH_CASES)
def test_need_flags_skip_work(monkeypatch, case, need):
    need_input, need_weight = need
    x, w, b, args = make(case, np.float64)
    gy = np.random.default_rng(5).standard_normal(conv2d_forward(x, w, b, *args).shape)
    full = conv2d_backward(x, w, gy, *args, True, True, True)

    def forbidden(*a):
        raise AssertionError("kernel ran although its result was not requested")

    for name in SKIPPED[need]:
        monkeypatch.setattr(conv, name, forbidden)
    if need == (False, False):  # pointwise path must not touch BLAS either
        monkeypatch.setattr(conv.np, "matmul", forbidden)
    gx, gw, gb = conv2d_backward(x, w, gy, *args, need_input, need_weight, True)
    assert (gx is None) == (not need_input) and (gw is None) == (not need_weight)
    if need_input:
        np.testing.assert_allclose(gx, full[0], rtol=1e-12, atol=1e-12)
    if need_weight:
        np.testing.assert_allclose(gw, full[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, full[2], rtol=1e-12, atol=1e-12)
    assert conv2d_backward(x, w, gy, *args, need_input, need_weight, False)[2] is None


@pytest.mark.parametrize("xs, ws, kw, match", [
    ((2, 5, 8, 8), (4, 2, 3, 3), dict(groups=2), "not divisible by groups"),
    ((2, 4, 8, 8), (5, 2, 3, 3), dict(groups=2), "output channels 5"),
    ((2, 4, 8, 8), (4, 3, 3, 3), dict(groups=1), "expects 3 input channels"),
    ((2, 4, 3, 3), (4, 4, 5, 5), dict(), r"output size \(-1, -1\)"),
    ((2, 4, 8, 8), (4, 4, 3, 3), dict(dilation=(4, 4)), "output size"),
    ((4, 8, 8), (4, 4, 3, 3), dict(), "4-D"),
    ((2, 4, 8, 8), (4, 4, 3), dict(), "4-D"),
    ((2, 4, 8, 8), (4, 4, 3, 3), dict(stride=(0, 1)), "stride"),
    ((2, 4, 8, 8), (4, 4, 3, 3), dict(padding=(-1, 0)), "padding"),
])
def test_bad_shapes(xs, ws, kw, match):
    args = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1)
    args.update(kw)
    x, w = np.zeros(xs), np.zeros(ws)
    with pytest.raises(ValueError, match=match):
        conv2d_forward(x, w, None, **args)
    with pytest.raises(ValueError, match=match):
        conv2d_backward(x, w, np.zeros((1,)), **args, need_input=True, need_weight=True,
                        need_bias=False)


def test_bad_bias_grad_and_dtype():
    x, w = np.zeros((2, 3, 5, 5)), np.zeros((4, 3, 3, 3))
    a = ((1, 1), (1, 1), (1, 1), 1)
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        conv2d_forward(x, w, np.zeros(3), *a)
    with pytest.raises(ValueError, match="grad_y shape"):
        conv2d_backward(x, w, np.zeros((2, 4, 4, 5)), *a, True, True, True)
    with pytest.raises(TypeError, match="float32 and float64"):
        conv2d_forward(x.astype(np.float32), w, None, *a)
    with pytest.raises(TypeError, match="int64"):
        conv2d_forward(x.astype(np.int64), w.astype(np.int64), None, *a)
    with pytest.raises(TypeError, match="grad_y dtype"):
        conv2d_backward(x, w, np.zeros((2, 4, 5, 5), np.float32), *a, True, True, True)


def test_concurrent_calls_from_user_threads():
    # each calling thread has its own column workspace; the worker pool is shared
    import threading

    from nanotorch.kernels import _workers
    rng = np.random.default_rng(5)
    cases = [(rng.standard_normal((6, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3))),
             (rng.standard_normal((5, 2, 7, 8)), rng.standard_normal((6, 2, 5, 3)))]
    expected = [conv2d_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1) for x, w in cases]
    blas_threads = [lib.get_num_threads() for lib in _workers._blas_libs()]
    errors = []

    def work(i):
        try:
            for _ in range(20):
                x, w = cases[i % 2]
                y = conv2d_forward(x, w, None, (1, 1), (1, 1), (1, 1), 1)
                np.testing.assert_allclose(y, expected[i % 2], rtol=1e-12, atol=1e-12)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # overlapping single-threaded-BLAS blocks leave the BLAS setting as it was
    assert [lib.get_num_threads() for lib in _workers._blas_libs()] == blas_threads
