"""nanotorch.testing.assert_close vs torch.testing.assert_close: same verdicts, same messages."""
import math

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.testing import assert_close

torch = pytest.importorskip("torch")


def _to_torch(x):
    if isinstance(x, nt.Tensor):
        return torch.from_numpy(x.numpy().copy())
    if isinstance(x, dict):
        return {k: _to_torch(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_to_torch(v) for v in x)
    return x


def _outcome(fn, actual, expected, **kwargs):
    try:
        fn(actual, expected, **kwargs)
    except Exception as e:  # noqa: BLE001  (the exception itself is what is compared)
        return type(e), str(e)
    return None


def _same_as_torch(actual, expected, **kwargs):
    ours = _outcome(assert_close, actual, expected, **kwargs)
    ref = _outcome(torch.testing.assert_close, _to_torch(actual), _to_torch(expected), **kwargs)
    if ref is not None:  # the messages name the library's own tensor class
        ref = (ref[0], ref[1].replace("torch.Tensor", "nanotorch.tensor.Tensor"))
    assert ours == ref
    return ours


F32 = dict(dtype=nt.float32)
CASES = [
    (nt.tensor([1.0, 2.0, 3.0]), nt.tensor([1.0, 2.5, 3.0]), {}),
    (nt.tensor([[1.0, 2.0], [3.0, 4.0]]), nt.tensor([[1.0, 2.0], [3.1, 4.2]]), {}),
    (nt.tensor([1.0, 2.0]), nt.tensor([1.0, 2.0 + 1e-6]), {}),  # within float32 tolerance
    (nt.tensor([1.0, 2.0], dtype=nt.float64), nt.tensor([1.0, 2.0 + 1e-6],
                                                        dtype=nt.float64), {}),
    (nt.tensor([1, 2]), nt.tensor([1, 3]), {}),
    (nt.tensor([True]), nt.tensor([False]), {}),
    (nt.tensor([1.0, 2.0]), nt.tensor([1.0, 2.0], dtype=nt.float64), {}),
    (nt.tensor([1.0, 2.0]), nt.tensor([1.0, 2.0], dtype=nt.float64), dict(check_dtype=False)),
    (nt.tensor([1.0, 2.0]), nt.tensor([1.0, 2.0, 3.0]), {}),
    (nt.tensor([math.nan, 1.0]), nt.tensor([math.nan, 1.0]), {}),
    (nt.tensor([math.nan, 1.0]), nt.tensor([math.nan, 1.0]), dict(equal_nan=True)),
    (nt.tensor([math.inf]), nt.tensor([math.inf]), {}),
    (nt.tensor([math.inf]), nt.tensor([-math.inf]), {}),
    (nt.tensor([2.0]), nt.tensor([0.0]), {}),
    (nt.tensor([1.0]), nt.tensor([1.1]), dict(rtol=0.2, atol=0.0)),
    (nt.tensor([1.0]), nt.tensor([1.5]), dict(rtol=0.2, atol=0.0)),
    (nt.tensor([1.0]), nt.tensor([1.1]), dict(rtol=0.2)),
    (nt.tensor([1.0, 1.0], dtype=nt.float16), nt.tensor([1.0005, 1.01], dtype=nt.float16), {}),
    (nt.tensor(1.0), nt.tensor(2.0), {}),
    (nt.zeros(0), nt.zeros(0), {}),
    (1.0, 1.5, {}),
    (1, 1, {}),
    (1, 2, {}),
    (1, 1.0, {}),
    (1.0, 1.0 + 1e-9, {}),
    (math.nan, math.nan, {}),
    (math.nan, math.nan, dict(equal_nan=True)),
    ([1.0, 2.0], [1.0, 2.5], {}),
    ([1, 2], [1, 2, 3], {}),
    ({"a": nt.tensor(1.0)}, {"a": nt.tensor(2.0)}, {}),
    ({"a": 1}, {"b": 1}, {}),
    ({"w": [nt.ones(2), {"b": nt.zeros(3)}]}, {"w": [nt.ones(2), {"b": nt.zeros(3)}]}, {}),
    ({"w": [nt.ones(2), {"b": nt.zeros(3)}]},
     {"w": [nt.ones(2), {"b": nt.tensor([0.0, 1.0, 0.0])}]}, {}),
    (nt.tensor(1.0), 1.0, {}),
    ("a", "a", {}),
]


@pytest.mark.parametrize("actual,expected,kwargs", CASES, ids=range(len(CASES)))
def test_verdicts_and_messages_match_torch(actual, expected, kwargs):
    _same_as_torch(actual, expected, **kwargs)


def test_message_lists_the_worst_mismatch():
    a = nt.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    b = a.detach().clone()
    b[1, 2] = 7.0
    b[0, 1] = 1.5
    result = _same_as_torch(a, b)
    assert result[0] is AssertionError
    assert "Mismatched elements: 2 / 6 (33.3%)" in result[1]
    assert "Greatest absolute difference: 2.0 at index (1, 2)" in result[1]
    assert "Greatest relative difference: 0.3333333432674408 at index (0, 1)" in result[1]


def test_default_tolerances_follow_the_dtype():
    one = np.float32(1)
    assert_close(nt.tensor([1.0]), nt.tensor([float(one + 2 * np.finfo(np.float32).eps)]))
    with pytest.raises(AssertionError, match="up to 1e-07 allowed"):
        assert_close(nt.tensor([1.0], dtype=nt.float64), nt.tensor([1.0 + 1e-6],
                                                                   dtype=nt.float64))
    with pytest.raises(AssertionError, match="not equal"):
        assert_close(nt.tensor([10]), nt.tensor([11]))


def test_numpy_arrays_and_custom_msg():
    assert_close(np.ones(3, dtype=np.float32), np.ones(3, dtype=np.float32))
    with pytest.raises(AssertionError, match="^custom$"):
        assert_close(nt.ones(2), nt.zeros(2), msg="custom")
    with pytest.raises(AssertionError, match="^wrapped: Tensor-likes"):
        assert_close(nt.ones(2), nt.zeros(2), msg=lambda m: "wrapped: " + m)
    with pytest.raises(ValueError, match="got no atol"):
        assert_close(nt.ones(1), nt.ones(1), rtol=0.1)
    assert nt.testing.assert_close is assert_close
