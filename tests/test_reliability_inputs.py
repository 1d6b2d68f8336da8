"""Bad input gives a clear exception naming the problem; numerically extreme and float64
input works; failed load_state_dict leaves the model alone; corrupt images are handled."""
import warnings

import numpy as np
import pytest

import nanotorch as nt
from nanotorch import nn
from nanotorch.nn import functional as F
from nanotorch.vision.datasets import ImageFolder
from nanotorch.vision.image_io import ImageReadError

SHAPE_ERR = (RuntimeError, ValueError)


def test_linear_in_features_mismatch():
    with pytest.raises(SHAPE_ERR, match=r"2x5 and 4x3"):
        nn.Linear(4, 3)(nt.randn(2, 5))


def test_conv_channel_mismatch():
    with pytest.raises(SHAPE_ERR, match=r"(?s)\[1, 4, 8, 8\].*3 channels.*got 4 channels"):
        nn.Conv2d(3, 8, 3)(nt.randn(1, 4, 8, 8))


def test_matmul_inner_dims():
    with pytest.raises(SHAPE_ERR, match=r"2x3 and 4x5"):
        nt.randn(2, 3) @ nt.randn(4, 5)


def test_broadcast_mismatch():
    with pytest.raises(SHAPE_ERR, match=r"(?s)\(3\).*\(4\).*dimension 1"):
        nt.randn(2, 3) + nt.randn(2, 4)


def test_cross_entropy_float_targets_of_wrong_shape():
    # float targets are class probabilities: they must have the logits' shape
    with pytest.raises(SHAPE_ERR, match=r"(?s)\[4, 3\].*float32 target of shape \[4\]"):
        F.cross_entropy(nt.randn(4, 3), nt.tensor([0.0, 1.0, 2.0, 1.0]))


def test_cross_entropy_class_index_out_of_range():
    with pytest.raises((IndexError, ValueError, RuntimeError),
                       match=r"Target 3 is out of bounds.*3 classes"):
        F.cross_entropy(nt.randn(4, 3), nt.tensor([0, 1, 3, 2]))
    with pytest.raises((IndexError, ValueError, RuntimeError), match=r"Target -1 is out of bounds"):
        F.cross_entropy(nt.randn(4, 3), nt.tensor([0, -1, 1, 2]))


@pytest.mark.parametrize("layer,x", [
    (lambda: nn.Linear(3, 2), lambda: nt.tensor([[1, 2, 3]])),
    (lambda: nn.Conv2d(1, 2, 3), lambda: nt.zeros(1, 1, 5, 5, dtype=nt.int64)),
])
def test_int_input_to_float_layer(layer, x):
    with pytest.raises((RuntimeError, TypeError), match=r"(?i)int64.*float|float.*int64"):
        layer()(x())


def test_sgd_bad_hyperparameters():
    p = [nn.Parameter(nt.randn(2))]
    with pytest.raises(ValueError, match=r"(?i)learning rate.*-0\.1"):
        nt.optim.SGD(p, lr=-0.1)
    with pytest.raises(ValueError, match=r"(?i)nesterov.*momentum"):
        nt.optim.SGD(p, lr=0.1, nesterov=True)


def test_batchnorm_batch_of_one_in_train_mode():
    bn = nn.BatchNorm1d(4)
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\[1, 4\]"):
        bn(nt.randn(1, 4))
    bn.eval()
    assert tuple(bn(nt.randn(1, 4)).shape) == (1, 4)  # eval mode is fine


def test_cross_entropy_empty_batch():
    logits = nt.zeros(0, 3, requires_grad=True)
    target = nt.zeros(0, dtype=nt.int64)
    # PyTorch: mean over nothing is nan, sum is 0; either way no crash and backward works
    assert np.isnan(F.cross_entropy(logits, target).item())
    loss = F.cross_entropy(logits, target, reduction="sum")
    assert loss.item() == 0.0
    loss.backward()
    assert tuple(logits.grad.shape) == (0, 3)


@pytest.mark.parametrize("dtype", [nt.float32, nt.float64])
def test_log_softmax_and_cross_entropy_huge_logits(dtype):
    logits = nt.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=dtype, requires_grad=True)
    ls = F.log_softmax(logits, dim=1)
    assert np.isfinite(ls.detach().numpy()).all()
    np.testing.assert_allclose(ls.detach().numpy()[0], [0.0, -2e4, -1e4])
    loss = F.cross_entropy(logits, nt.tensor([1, 2]))
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(1e4)
    loss.backward()
    assert np.isfinite(logits.grad.numpy()).all()


def test_float64_end_to_end():
    nt.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).double()
    opt = nt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = nt.randn(5, 1, 6, 6, dtype=nt.float64)
    y = nt.tensor([0, 1, 2, 0, 1])
    before = [p.detach().clone() for p in model.parameters()]
    for _ in range(2):
        out = model(x)
        assert out.dtype == nt.float64
        loss = F.cross_entropy(out, y)
        assert loss.dtype == nt.float64
        opt.zero_grad()
        loss.backward()
        opt.step()
    for (name, p), b in zip(model.named_parameters(), before):
        assert p.dtype == nt.float64 and p.grad.dtype == nt.float64
        if name == "0.bias":  # batch norm removes the mean: this gradient is zero up to rounding
            assert p.grad.abs().max().item() < 1e-12
            continue
        assert not np.array_equal(p.detach().numpy(), b.numpy())
    for buf in model.buffers():
        if buf.is_floating_point():
            assert buf.dtype == nt.float64


def _snapshot(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("damage", ["missing", "extra", "shape"])
def test_failed_load_state_dict_leaves_model_unchanged(damage):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    before = _snapshot(model)
    sd = {k: nt.full(v.shape, 7.0, dtype=v.dtype) for k, v in model.state_dict().items()}
    if damage == "missing":
        del sd["2.bias"]
        pattern = r"(?i)missing.*2\.bias"
    elif damage == "extra":
        sd["3.weight"] = nt.zeros(2)
        pattern = r"(?i)unexpected.*3\.weight"
    else:
        sd["2.weight"] = nt.zeros(3, 4)
        pattern = r"(?s)2\.weight.*\[3, 4\].*\[2, 4\]"
    with pytest.raises(RuntimeError, match=pattern):
        model.load_state_dict(sd)
    after = _snapshot(model)
    for k in before:
        assert np.array_equal(before[k], after[k]), f"{k} changed by a failed load"


def _image_tree(root):
    from PIL import Image
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((4, 4, 3), 40 * i, np.uint8)).save(root / cls / f"{i}.png")
    (root / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    return root


def test_imagefolder_corrupt_image_raise(tmp_path):
    ds = ImageFolder(_image_tree(tmp_path / "d"), on_error="raise")
    assert len(ds) == 5
    idx = [i for i, (p, _) in enumerate(ds.samples) if p.endswith("broken.png")][0]
    with pytest.raises(ImageReadError, match="broken.png"):
        ds[idx]


def test_imagefolder_corrupt_image_skip(tmp_path):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ds = ImageFolder(_image_tree(tmp_path / "d"), on_error="skip")
    assert len(ds) == 4 and ds.targets == [0, 0, 1, 1]
    assert len(ds.skipped) == 1 and ds.skipped[0][0].endswith("broken.png")
    assert any("broken.png" in str(x.message) for x in w)
    for i in range(len(ds)):
        ds[i]
