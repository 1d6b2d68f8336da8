"""Parity of nanotorch._printing with PyTorch's tensor repr."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nanotorch._printing import format_tensor, get_printoptions, set_printoptions  # noqa: E402

_DEFAULT_DTYPES = (np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_))
_NAN, _INF = float("nan"), float("inf")


@pytest.fixture(autouse=True)
def _restore_options():
    yield
    torch.set_printoptions(profile="default")
    set_printoptions(profile="default")


def _both_set(**kw):
    torch.set_printoptions(**kw)
    set_printoptions(**kw)


def _pair(arr, grad=None):
    """(torch repr, ours) for `arr`; grad is None, 'requires', 'fn' or 'param'."""
    t = torch.from_numpy(np.array(arr, copy=True))
    dtype_suffix = None if arr.dtype in _DEFAULT_DTYPES else str(t.dtype)
    suffixes, prefix = [], "tensor("
    if grad == "requires":
        t.requires_grad_(True)
        suffixes = ["requires_grad=True"]
    elif grad == "fn":
        t = t.requires_grad_(True) * 1
        suffixes = [f"grad_fn=<{type(t.grad_fn).__name__}>"]
    elif grad == "param":
        t = torch.nn.Parameter(t)
        suffixes, prefix = ["requires_grad=True"], "Parameter containing:\ntensor("
    ours = format_tensor(arr, dtype_suffix=dtype_suffix, suffixes=suffixes, prefix=prefix)
    return repr(t), ours


def _assert_same(arr, grad=None):
    expected, ours = _pair(arr, grad)
    assert ours == expected, f"\nexpected:\n{expected}\ngot:\n{ours}"


f32, f64 = np.float32, np.float64
EDGE_CASES = [
    np.array([1.0, 3.0, 4.0], f32),
    np.array(29.0, f32),
    np.array(-0.0, f32),
    np.array(_NAN, f64),
    np.array(-_INF, f32),
    np.array(7, np.int32),
    np.array(True),
    np.array(255, np.uint8),
    np.array([_NAN], f32),
    np.array([_INF, -_INF, _NAN], f32),
    np.array([_NAN, 0.0, -0.0], f32),
    np.array([1.5, _NAN, -0.0], f32),
    np.array([1.0, _NAN, -0.0, _INF], f32),
    np.array([0.0, 0.0], f32),
    np.array([-0.0, -0.0], f64),
    np.array([1e-5, 1.0], f32),
    np.array([1e-4, 2e-4], f32),
    np.array([1e-4, 2e-4], f64),
    np.array([1e8, 5e7], f64),
    np.array([1e8 + 0.5, 5e7], f64),
    np.array([0.001, 1.0], f64),
    np.array([0.001, 1.0000001], f64),
    np.array([9.9999e-5, 0.5], f32),
    np.array([1e8, 1.0], f32),
    np.array([1e8, 2e8], f64),
    np.array([1.0000001e8], f64),
    np.array([1e9, 3e9], f32),
    np.array([1.0, 1000.0], f32),
    np.array([1.0, 1001.0], f32),
    np.array([0.5, 500.0], f32),
    np.array([0.5, 500.5], f32),
    np.array([0.1, 100.5, -3.25], f32),
    np.array([1e10, 2.5], f64),
    np.array([1e-300, 1e300, -5.0], f64),
    np.array([9.99995, 99999.5, 0.00015], f32),
    np.array([-1e-6, 1e-6], f32),
    np.array([123456.75], f64),
    np.array([2.0**24, 1.0], f32),
    np.array([[1, 2], [3, 4]], np.int32),
    np.array([-5, 10**18, -(2**63)], np.int64),
    np.array([0, 255, 7], np.uint8),
    np.array([True, False, True]),
    np.array([[True], [True]]),
    np.zeros((0,), f32),
    np.zeros((0, 3), f32),
    np.zeros((2, 0, 3), f64),
    np.zeros((3, 0), np.int32),
    np.zeros((0,), np.bool_),
    np.zeros((0, 0), np.uint8),
    np.arange(100, dtype=np.int64),
    np.arange(40, dtype=f32) * 1.5,
    np.arange(30, dtype=f64) * 1e9,
    np.arange(24, dtype=f32).reshape(2, 3, 4),
    np.arange(48, dtype=np.int64).reshape(2, 2, 3, 4) - 20,
    np.arange(1001, dtype=f32),
    np.arange(1000, dtype=f32),
    np.arange(2000, dtype=f64).reshape(2, 1000) / 7,
    np.arange(1600, dtype=f32).reshape(40, 40) * 0.01,
    np.arange(1331, dtype=np.int32).reshape(11, 11, 11),
    np.arange(1001, dtype=np.int64).reshape(1001, 1),
    np.ones((7, 7, 7, 7), np.bool_),
]


def _hidden_extremes():
    # Summaries decide style from shown elements only: the huge/tiny middle values are hidden.
    a = np.full(2000, 1.5, f32)
    a[1000] = 1e12
    a[1001] = 1e-9
    a[1002] = 0.25
    return a


EDGE_CASES.append(_hidden_extremes())


EDGE_PARAMS = [pytest.param(a, g, id=f"{a.dtype}{a.shape}-{g}") for a in EDGE_CASES
               for g in ([None, "requires", "fn", "param"] if a.dtype.kind == "f" else [None])]


@pytest.mark.parametrize("arr,grad", EDGE_PARAMS)
def test_edge_cases_match_torch(arr, grad):
    _assert_same(arr, grad)


@pytest.mark.parametrize("n", range(1, 21))
@pytest.mark.parametrize("scale", [1.0, 10.5, 1e5 + 0.5, 1e-5])
def test_suffix_wrapping_near_line_end(n, scale):
    arr = (np.arange(n, dtype=f64) + 1) * scale
    _assert_same(arr, "fn")
    _assert_same(arr.astype(f32), "param")


def test_non_contiguous_input():
    a = np.arange(60, dtype=f32).reshape(3, 4, 5).transpose(2, 0, 1)[::2] * 0.37
    _assert_same(a)
    _assert_same(np.arange(3000, dtype=f64).reshape(30, 100).T[::-1])


def _random_values(rng, dtype, shape):
    size = math.prod(shape)
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) < rng.random())
    if dtype == np.uint8:
        return rng.integers(0, 256, shape).astype(np.uint8)
    if dtype in (np.int32, np.int64):
        k = int(rng.integers(0, 10 if dtype == np.int32 else 19))
        return rng.integers(-(10**k), 10**k, shape, dtype=np.int64).astype(dtype)
    scale = 10.0 ** rng.uniform(-6, 9)
    style = rng.integers(0, 4)
    if style == 0:
        vals = rng.standard_normal(size) * scale
    elif style == 1:  # integer-valued floats
        vals = np.round(rng.standard_normal(size) * scale)
    elif style == 2:  # positive, two mixed scales
        vals = rng.random(size) * np.where(rng.random(size) < 0.5, scale,
                                           10.0 ** rng.uniform(-6, 9))
    else:
        vals = rng.integers(-3, 4, size) * 0.5
    if size and rng.random() < 0.4:
        specials = np.array([_NAN, _INF, -_INF, 0.0, -0.0])
        mask = rng.random(size) < rng.uniform(0.05, 0.5)
        vals[mask] = rng.choice(specials, int(mask.sum()))
    return vals.astype(dtype).reshape(shape)


def _random_shape(rng):
    if rng.random() < 0.1:
        shapes = [(1001,), (3, 400), (11, 11, 11), (2, 3, 200), (1200, 2), (5, 2, 11, 10)]
        return shapes[rng.integers(6)]
    ndim = int(rng.integers(0, 5))
    hi = 13 if ndim <= 2 else 7
    return tuple(int(s) for s in rng.integers(0, hi, ndim) * (rng.random(ndim) > 0.05))


_DTYPES = [np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_]


def _random_cases(seed, count):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        dtype = np.dtype(_DTYPES[rng.integers(len(_DTYPES))])
        arr = _random_values(rng, dtype, _random_shape(rng))
        grad = None
        if dtype.kind == "f":
            grad = [None, "requires", "fn", "param"][rng.integers(4)]
        yield arr, grad


def _mismatches(cases):
    bad = []
    for arr, grad in cases:
        expected, ours = _pair(arr, grad)
        if ours != expected:
            bad.append(f"{arr.dtype}{arr.shape} grad={grad}\nexpected:\n{expected}\ngot:\n{ours}")
    return bad


def test_random_arrays_match_torch():
    bad = _mismatches(_random_cases(0, 400))
    assert not bad, f"{len(bad)} mismatches; first:\n" + "\n\n".join(bad[:3])


OPTION_SETS = [
    dict(precision=2),
    dict(precision=0),
    dict(precision=8),
    dict(linewidth=40),
    dict(linewidth=120),
    dict(linewidth=3),
    dict(threshold=5),
    dict(threshold=5, edgeitems=1),
    dict(threshold=0, edgeitems=2),
    dict(edgeitems=0),
    dict(threshold=5, edgeitems=0),
    dict(profile="short"),
    dict(profile="full"),
    dict(sci_mode=True),
    dict(sci_mode=False),
    dict(profile="short", precision=6, sci_mode=True),
]


@pytest.mark.parametrize("opts", OPTION_SETS, ids=str)
def test_print_options_match_torch(opts):
    _both_set(**opts)
    assert get_printoptions() == torch._tensor_str.get_printoptions()
    cases = [(a, None) for a in EDGE_CASES if a.size <= 2000] + list(_random_cases(1, 60))
    bad = _mismatches(cases)
    assert not bad, f"{len(bad)} mismatches; first:\n" + "\n\n".join(bad[:3])


def test_printoptions_state_matches_torch():
    assert get_printoptions() == torch._tensor_str.get_printoptions()
    for kw in [dict(sci_mode=True), dict(precision=3), dict(profile="full"),
               dict(profile="short", linewidth=100), dict(threshold=10, edgeitems=1)]:
        _both_set(**kw)
        assert get_printoptions() == torch._tensor_str.get_printoptions(), kw
    opts = get_printoptions()
    opts["precision"] = 99  # a copy, not the live state
    assert get_printoptions()["precision"] != 99


@pytest.mark.parametrize("kw", [dict(precision=-1), dict(precision=1.5), dict(edgeitems=-2),
                                dict(linewidth=0), dict(threshold=-1), dict(threshold="big"),
                                dict(profile="huge"), dict(sci_mode="yes")])
def test_bad_printoptions_raise(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        set_printoptions(**kw)


def test_numpy_scalar_accepted():
    _assert_same(np.float64(2.5))
    _assert_same(np.bool_(False))


def test_bad_input_raises():
    with pytest.raises(TypeError, match="ndarray"):
        format_tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="complex"):
        format_tensor(np.ones(2, np.complex64))
