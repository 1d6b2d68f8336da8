"""bfloat16 as a storage and conversion dtype, against the torch wheel: rounding to nearest
even bit for bit, creation, printing, promotion, and PyTorch's file format."""
import io

import numpy as np
import pytest

import nanotorch as nt

torch = pytest.importorskip("torch")


def _values():
    rng = np.random.default_rng(0)
    scaled = rng.standard_normal(4000) * 10.0 ** rng.integers(-40, 39, 4000)
    ties = np.array([1.00390625, 1.01171875, -1.00390625, 2.0 ** -130, 3.3895e38, 3.4e38],
                    dtype=np.float64)  # halfway cases, a denormal, near and past the max
    special = [np.inf, -np.inf, 0.0, -0.0, np.nan]
    return np.concatenate([scaled, ties, special]).astype(np.float32)


@pytest.mark.parametrize("source", [np.float32, np.float64, np.float16])
def test_conversion_rounds_like_torch_bit_for_bit(source):
    with np.errstate(over="ignore"):
        v = _values().astype(source)
    ours = nt.tensor(v).to(nt.bfloat16)
    theirs = torch.tensor(v).to(torch.bfloat16)
    bits = theirs.view(torch.int16).numpy().view(np.uint16)
    got = ours._array.view(np.uint16)
    nan = np.isnan(theirs.float().numpy())
    np.testing.assert_array_equal(got[~nan], bits[~nan])
    assert np.isnan(ours.float().numpy()[nan]).all()
    np.testing.assert_array_equal(ours.float().numpy()[~nan], theirs.float().numpy()[~nan])
    np.testing.assert_array_equal(ours.to(nt.float16).numpy()[~nan],
                                  theirs.to(torch.float16).numpy()[~nan])


def test_dtype_creation_methods_and_printing_match_torch():
    assert repr(nt.bfloat16) == "torch.bfloat16"
    assert nt.bfloat16.is_floating_point and nt.bfloat16.itemsize == 2
    for L in (nt, torch):
        assert L.ones(3, dtype=L.bfloat16).tolist() == [1.0, 1.0, 1.0]
        assert L.zeros(2, dtype=L.bfloat16).tolist() == [0.0, 0.0]
    pairs = [
        (nt.full((2,), 3.3, dtype=nt.bfloat16), torch.full((2,), 3.3, dtype=torch.bfloat16)),
        (nt.tensor([1.1, -2.7e5], dtype=nt.bfloat16), torch.tensor([1.1, -2.7e5],
                                                                    dtype=torch.bfloat16)),
        (nt.tensor([[1.5, 2.25]]).bfloat16().t(), torch.tensor([[1.5, 2.25]]).bfloat16().t()),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        assert ours.tolist() == theirs.tolist()
        assert ours.dtype is nt.bfloat16 and ours.element_size() == 2
    assert nt.tensor([2.5], dtype=nt.bfloat16).item() == 2.5
    assert nt.tensor([1.7], dtype=nt.bfloat16).to(nt.int64).tolist() == [1]


def test_promotion_matches_torch():
    for a, b in [("bfloat16", "float16"), ("bfloat16", "float32"), ("float64", "bfloat16"),
                 ("bfloat16", "int64"), ("bool", "bfloat16")]:
        ours = nt.promote_types(getattr(nt, a), getattr(nt, b))
        assert repr(ours) == repr(torch.promote_types(getattr(torch, a), getattr(torch, b)))


def test_arithmetic_refuses_clearly_instead_of_using_the_bits():
    x = nt.ones(2, dtype=nt.bfloat16)
    with pytest.raises(TypeError, match="bfloat16 tensors are for storage and conversion"):
        x * 2


def test_saved_bfloat16_state_dict_opens_in_torch():
    sd = {"w": nt.tensor([[1.1, -3.0], [7e-3, 2.0 ** 20]]).bfloat16(),
          "t": nt.arange(6.0).view(2, 3).t().bfloat16()}
    f = io.BytesIO()
    nt.save(sd, f)
    f.seek(0)
    loaded = torch.load(f, weights_only=True)
    for k, v in sd.items():
        assert loaded[k].dtype == torch.bfloat16
        assert loaded[k].float().tolist() == v.float().tolist()
