"""Image transforms against explicitly computed expected arrays."""

from pathlib import Path

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

import nanotorch  # noqa: E402
from nanotorch.vision import load_image  # noqa: E402
from nanotorch.vision import transforms as T  # noqa: E402

PHOTO = Path(__file__).resolve().parent / "fixtures" / "images" / "chelsea.jpg"


def _np(x):
    """Array view of a transform output (ToTensor may return a nanotorch Tensor)."""
    return np.asarray(x.numpy()) if hasattr(x, "numpy") and not isinstance(x, np.ndarray) else x


def _img(h=5, w=7, c=3, seed=0):
    shape = (h, w) if c is None else (h, w, c)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


class FakeTensor:
    def __init__(self, arr):
        self.arr = arr

    def numpy(self):
        return self.arr


@pytest.fixture
def no_from_numpy(monkeypatch):
    monkeypatch.delattr(nanotorch, "from_numpy", raising=False)


@pytest.fixture
def fake_from_numpy(monkeypatch):
    monkeypatch.setattr(nanotorch, "from_numpy", FakeTensor, raising=False)


# ------------------------------------------------------------------ ToTensor


def test_to_tensor_uint8_array_and_pil(no_from_numpy):
    a = _img()
    out = T.ToTensor()(a)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (3, 5, 7)
    assert out.flags.c_contiguous
    np.testing.assert_allclose(out, a.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    assert np.array_equal(T.ToTensor()(Image.fromarray(a)), out)
    g = _img(c=None)
    out = T.ToTensor()(Image.fromarray(g))
    assert out.shape == (1, 5, 7)
    np.testing.assert_allclose(out[0], g / 255.0, rtol=1e-6)
    assert np.array_equal(T.ToTensor()(g), out)


def test_to_tensor_other_dtypes_not_scaled(no_from_numpy):
    f = np.random.default_rng(0).normal(size=(4, 3, 2))
    out = T.ToTensor()(f)
    assert out.dtype == np.float32 and np.array_equal(out, f.transpose(2, 0, 1).astype(np.float32))
    assert np.array_equal(T.ToTensor()(np.array([[300, 7]], np.int32)), [[[300.0, 7.0]]])
    with pytest.raises(TypeError, match="list"):
        T.ToTensor()([[1, 2]])
    with pytest.raises(ValueError, match=r"shape \(1, 2, 3, 4\)"):
        T.ToTensor()(np.zeros((1, 2, 3, 4), np.uint8))


def test_to_tensor_wraps_with_from_numpy(fake_from_numpy):
    out = T.ToTensor()(_img())
    assert isinstance(out, FakeTensor)
    assert out.arr.shape == (3, 5, 7) and out.arr.dtype == np.float32


# ----------------------------------------------------------------- Normalize


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_math(dtype, no_from_numpy):
    x = np.random.default_rng(1).random((3, 4, 5)).astype(dtype)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.3, 0.4)
    out = T.Normalize(mean, std)(x)
    expected = (x - np.array(mean, dtype)[:, None, None]) / np.array(std, dtype)[:, None, None]
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    batch = np.stack([x, 2 * x])
    np.testing.assert_allclose(T.Normalize(mean, std)(batch)[1], T.Normalize(mean, std)(2 * x),
                               rtol=1e-6)
    np.testing.assert_allclose(T.Normalize(0.5, 0.25)(x), (x - 0.5) / 0.25, rtol=1e-6)
    y = x.copy()
    assert T.Normalize(mean, std, inplace=True)(y) is y
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_normalize_tensor_like(fake_from_numpy):
    x = np.random.default_rng(2).random((3, 2, 2)).astype(np.float32)
    out = T.imagenet_normalize()(FakeTensor(x))
    expected = (x - np.array(T.IMAGENET_MEAN, np.float32)[:, None, None]) / np.array(
        T.IMAGENET_STD, np.float32)[:, None, None]
    assert isinstance(out, FakeTensor)
    np.testing.assert_allclose(out.arr, expected, rtol=1e-6)


def test_normalize_errors():
    with pytest.raises(TypeError, match="uint8"):
        T.Normalize(0.5, 0.5)(np.zeros((3, 2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"3 mean/std values for 4 channels"):
        T.Normalize(T.IMAGENET_MEAN, T.IMAGENET_STD)(np.zeros((4, 2, 2), np.float32))
    with pytest.raises(ValueError, match="non-zero"):
        T.Normalize((0.0, 0.0), (1.0, 0.0))
    with pytest.raises(ValueError, match="2 values but std has 3"):
        T.Normalize((0.0, 0.0), (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        T.Normalize(0.0, 1.0)(np.zeros((2, 2), np.float32))


def test_imagenet_constants():
    n = T.imagenet_normalize()
    assert n.mean == T.IMAGENET_MEAN == (0.485, 0.456, 0.406)
    assert n.std == T.IMAGENET_STD == (0.229, 0.224, 0.225)


# --------------------------------------------------------------------- flips


def test_horizontal_flip_reverses_columns():
    a = _img()
    out = T.RandomHorizontalFlip(p=1.0)(a)
    assert np.array_equal(out, a[:, ::-1]) and out.flags.c_contiguous
    assert np.array_equal(np.asarray(T.RandomHorizontalFlip(p=1.0)(Image.fromarray(a))), a[:, ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(a) is a


def _gen(seed):
    return nanotorch.Generator().manual_seed(seed)


def test_horizontal_flip_follows_generator():
    # torchvision's draw: one rand(1) per call, flip when it is < p
    a = _img(c=None)
    flip = T.RandomHorizontalFlip(p=0.5, generator=_gen(7))
    ref = _gen(7)
    draws = [nanotorch.rand(1, generator=ref).item() for _ in range(40)]
    for u in draws:
        expected = a[:, ::-1] if u < 0.5 else a
        assert np.array_equal(flip(a), expected)
    assert 5 < sum(u < 0.5 for u in draws) < 35  # both branches were exercised


def test_manual_seed_controls_transforms_without_generator():
    a = _img(12, 12)
    crop = T.Compose([T.RandomCrop(5, padding=2), T.RandomHorizontalFlip()])
    nanotorch.manual_seed(123)
    first = [crop(a) for _ in range(5)]
    nanotorch.manual_seed(123)
    again = [crop(a) for _ in range(5)]
    assert all(np.array_equal(x, y) for x, y in zip(first, again))
    assert not all(np.array_equal(first[0], x) for x in first[1:])
    state = nanotorch.get_rng_state()
    after = crop(a)
    nanotorch.set_rng_state(state)
    assert np.array_equal(crop(a), after)  # the global state holds the transforms' too


def _torch_stream_matches():
    """Whether nanotorch's generator yields torch's numbers (its mt19937 port)."""
    import torch

    got = nanotorch.rand(8, generator=_gen(3)).numpy()
    return np.array_equal(got, torch.rand(8, generator=torch.Generator().manual_seed(3)).numpy())


def _torchvision_rrc_params(h, w, scale, ratio, g):
    """torchvision's RandomResizedCrop.get_params draw order, written with torch calls."""
    import math as m

    import torch

    log_ratio = torch.log(torch.tensor(ratio))
    for _ in range(10):
        target = h * w * torch.empty(1).uniform_(scale[0], scale[1], generator=g).item()
        aspect = torch.exp(torch.empty(1).uniform_(log_ratio[0].item(), log_ratio[1].item(),
                                                   generator=g)).item()
        cw, ch = int(round(m.sqrt(target * aspect))), int(round(m.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            top = torch.randint(0, h - ch + 1, size=(1,), generator=g).item()
            return top, torch.randint(0, w - cw + 1, size=(1,), generator=g).item(), ch, cw
    return None


def test_random_draws_follow_torchvision_order_with_torch_numbers():
    pytest.importorskip("torch")
    if not _torch_stream_matches():
        pytest.skip("nanotorch's generator does not yet produce torch's stream")
    import torch

    a = _img(20, 30)
    for seed in range(20):
        g = torch.Generator().manual_seed(seed)
        expected = _torchvision_rrc_params(20, 30, (0.08, 1.0), (3 / 4, 4 / 3), g)
        got = T.RandomResizedCrop.get_params(a, (0.08, 1.0), (3 / 4, 4 / 3), _gen(seed))
        assert got == expected, seed
        g = torch.Generator().manual_seed(seed)
        top = torch.randint(0, 20 - 4 + 1, size=(1,), generator=g).item()
        left = torch.randint(0, 30 - 5 + 1, size=(1,), generator=g).item()
        assert T.RandomCrop.get_params(a, (4, 5), _gen(seed)) == (top, left, 4, 5)
        flip = torch.rand(1, generator=torch.Generator().manual_seed(seed)) < 0.5
        out = T.RandomHorizontalFlip(generator=_gen(seed))(a)
        assert np.array_equal(out, a[:, ::-1] if flip else a)


# -------------------------------------------------------------------- Resize


@pytest.mark.parametrize("hw,size,expected", [
    ((5, 7), 3, (3, 4)),            # shorter side -> 3, longer int(3 * 7 / 5)
    ((7, 5), 3, (4, 3)),
    ((7, 10), 4, (4, 5)),           # int(4 * 10 / 7) = int(5.71) truncates
    ((10, 10), 4, (4, 4)),
    ((100, 37), 50, (135, 50)),      # int(50 * 100 / 37) = 135
    ((5, 7), (2, 9), (2, 9)),        # (h, w) is taken literally
    ((5, 7), [6], (6, 8)),           # a 1-element sequence acts like an int
])
def test_resize_output_size(hw, size, expected):
    a = _img(*hw)
    out = T.Resize(size)(a)
    assert out.shape == expected + (3,) and out.dtype == np.uint8
    pil = T.Resize(size)(Image.fromarray(a))
    assert (pil.height, pil.width) == expected
    assert np.array_equal(np.asarray(pil), out)  # array path = PIL path


def test_resize_max_size_and_identity():
    assert T.Resize(50, max_size=80).output_size(100, 200) == (40, 80)
    assert T.Resize(50, max_size=80).output_size(100, 120) == (50, 60)
    a = _img(6, 9)
    assert T.Resize(6)(a) is a
    with pytest.raises(ValueError, match="max_size"):
        T.Resize((3, 4), max_size=10)
    with pytest.raises(ValueError, match="unknown interpolation 'cubic'"):
        T.Resize(3, interpolation="cubic")


def test_resize_nearest_upsample_repeats_pixels():
    a = _img(3, 4)
    expected = a.repeat(2, axis=0).repeat(2, axis=1)
    assert np.array_equal(T.Resize((6, 8), interpolation="nearest")(a), expected)
    f = a[..., 0].astype(np.float64) / 7.0
    out = T.Resize((6, 8), interpolation=T.InterpolationMode.NEAREST)(f)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, f.repeat(2, 0).repeat(2, 1), rtol=1e-6)


def test_resize_float_constant_stays_constant():
    f = np.full((9, 6, 2), 0.25, np.float32)
    f[..., 1] = -3.0
    out = T.Resize((4, 5))(f)
    assert out.shape == (4, 5, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 0], 0.25, rtol=1e-6)
    np.testing.assert_allclose(out[..., 1], -3.0, rtol=1e-6)


# ---------------------------------------------------------------------- crops


def test_center_crop():
    a = _img(5, 7)
    # top = round((5-2)/2) = 2, left = round((7-2)/2) = 2 (Python rounds halves to even)
    assert np.array_equal(T.CenterCrop(2)(a), a[2:4, 2:4])
    assert np.array_equal(T.CenterCrop((3, 4))(a), a[1:4, 2:6])
    assert np.array_equal(np.asarray(T.CenterCrop((3, 4))(Image.fromarray(a))), a[1:4, 2:6])


def test_center_crop_larger_than_image_pads_with_zeros():
    a = _img(3, 4)
    expected = np.zeros((6, 7, 3), np.uint8)
    expected[1:4, 1:5] = a  # 3 extra rows -> 1 above, 2 below; 3 extra columns -> 1 left, 2 right
    assert np.array_equal(T.CenterCrop((6, 7))(a), expected)
    assert np.array_equal(np.asarray(T.CenterCrop((6, 7))(Image.fromarray(a))), expected)


def test_random_crop_with_padding_is_deterministic():
    a = _img(6, 8)
    crop = T.RandomCrop((4, 5), padding=2, generator=_gen(3))
    ref = _gen(3)
    padded = np.zeros((10, 12, 3), np.uint8)
    padded[2:8, 2:10] = a
    seen = set()
    for _ in range(20):  # torchvision's order: row offset, then column offset
        top = nanotorch.randint(0, 10 - 4 + 1, size=(1,), generator=ref).item()
        left = nanotorch.randint(0, 12 - 5 + 1, size=(1,), generator=ref).item()
        seen.add((top, left))
        assert np.array_equal(crop(a), padded[top:top + 4, left:left + 5])
    assert len(seen) > 5
    pil = T.RandomCrop((4, 5), padding=2, generator=_gen(3))(Image.fromarray(a))
    first = T.RandomCrop((4, 5), padding=2, generator=_gen(3))(a)
    assert np.array_equal(np.asarray(pil), first)


@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric"])
def test_random_crop_padding_modes(mode):
    a = _img(4, 4, c=None)
    out = T.RandomCrop(7, padding=(1, 2, 3, 4), padding_mode=mode, generator=_gen(0))(a)
    padded = np.pad(a, ((2, 4), (1, 3)), mode=mode)  # (left, top, right, bottom) -> rows, cols
    ref = _gen(0)
    top = nanotorch.randint(0, 10 - 7 + 1, size=(1,), generator=ref).item()
    left = nanotorch.randint(0, 8 - 7 + 1, size=(1,), generator=ref).item()
    assert np.array_equal(out, padded[top:top + 7, left:left + 7])


def test_random_crop_fill_and_size_checks():
    a = _img(2, 2)
    out = T.RandomCrop(6, padding=2, fill=(1, 2, 3))(a)
    assert np.array_equal(out[0, 0], [1, 2, 3]) and np.array_equal(out[2:4, 2:4], a)
    with pytest.raises(ValueError, match=r"crop size \(5, 5\) is larger than .* \(2, 2\)"):
        T.RandomCrop(5)(a)
    assert T.RandomCrop(5, pad_if_needed=True)(a).shape == (5, 5, 3)
    with pytest.raises(ValueError, match="padding_mode"):
        T.RandomCrop(2, padding_mode="wrap")


def test_random_resized_crop():
    a = _img(20, 30)
    rng = _gen(5)
    for _ in range(50):
        top, left, h, w = T.RandomResizedCrop.get_params(a, (0.08, 1.0), (3 / 4, 4 / 3), rng)
        assert 0 <= top and 0 <= left and 0 < h and top + h <= 20 and 0 < w and left + w <= 30
    out = T.RandomResizedCrop(8, generator=_gen(1))(a)
    assert out.shape == (8, 8, 3)
    assert np.array_equal(out, T.RandomResizedCrop(8, generator=_gen(1))(a))
    assert not np.array_equal(out, T.RandomResizedCrop(8, generator=_gen(2))(a))
    sq = _img(16, 16)
    whole = T.RandomResizedCrop(4, scale=(1.0, 1.0), ratio=(1.0, 1.0))(sq)
    assert np.array_equal(whole, T.Resize((4, 4))(sq))


def test_random_resized_crop_fallback_is_central():
    # a 10x100 strip cannot hold a square of area 1000: fall back to a centred 10x10 window
    rrc = T.RandomResizedCrop(5, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    a = _img(10, 100)
    assert rrc.get_params(a, rrc.scale, rrc.ratio, _gen(0)) == (0, 45, 10, 10)
    assert np.array_equal(rrc(a), T.Resize((5, 5))(a[:, 45:55]))


# ----------------------------------------------------------------- grayscale


def test_grayscale_matches_luma():
    a = _img(6, 5)
    pil_gray = np.asarray(Image.fromarray(a).convert("L"))
    g = T.Grayscale()(a)
    assert g.shape == (6, 5) and g.dtype == np.uint8
    assert np.array_equal(g, pil_gray)
    luma = a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114
    assert np.abs(g - luma).max() <= 0.5 + 1e-3
    g3 = T.Grayscale(num_output_channels=3)(a)
    assert g3.shape == (6, 5, 3) and all(np.array_equal(g3[..., c], g) for c in range(3))
    pil3 = T.Grayscale(3)(Image.fromarray(a))
    assert pil3.mode == "RGB" and np.array_equal(np.asarray(pil3), g3)
    assert T.Grayscale()(Image.fromarray(a)).mode == "L"


def test_grayscale_other_inputs():
    f = np.random.default_rng(0).random((3, 4, 4)).astype(np.float32)  # RGBA: alpha ignored
    luma = 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]
    np.testing.assert_allclose(T.Grayscale()(f), luma, rtol=1e-6)
    g = _img(c=None)
    assert np.array_equal(T.Grayscale(3)(g), np.stack([g, g, g], axis=-1))
    with pytest.raises(ValueError, match="num_output_channels"):
        T.Grayscale(2)
    with pytest.raises(ValueError, match=r"shape \(2, 2, 2\)"):
        T.Grayscale()(np.zeros((2, 2, 2), np.uint8))


# ---------------------------------------------------------- compose / lambda


def test_compose_and_lambda():
    a = np.arange(6.0).reshape(2, 3)
    t = T.Compose([T.Lambda(lambda x: x + 1), T.Lambda(lambda x: x * 2)])
    assert np.array_equal(t(a), (a + 1) * 2)
    assert "Lambda" in repr(t)
    with pytest.raises(TypeError, match="callable"):
        T.Lambda(3)


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match="RandomCrop.*list"):
        T.RandomCrop(2)([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match=r"CenterCrop.*shape \(2,\)"):
        T.CenterCrop(1)(np.zeros(2))
    with pytest.raises(ValueError, match="size must be positive"):
        T.CenterCrop(0)


def test_imagenet_pipeline_on_photo(no_from_numpy):
    img = load_image(PHOTO)
    t = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.imagenet_normalize()])
    x = t(img)
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    ref = (np.asarray(img.crop((80, 16, 304, 240))).transpose(2, 0, 1) / 255.0
           - np.array(T.IMAGENET_MEAN)[:, None, None]) / np.array(T.IMAGENET_STD)[:, None, None]
    np.testing.assert_allclose(x, ref, rtol=1e-5, atol=1e-5)
    train = T.Compose([T.RandomResizedCrop(224, generator=_gen(0)),
                       T.RandomHorizontalFlip(generator=_gen(0)), T.ToTensor()])
    y = train(img)
    assert y.shape == (3, 224, 224) and 0.0 <= y.min() and y.max() <= 1.0
