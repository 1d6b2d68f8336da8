"""float16 through convolution, pooling, normalisation, interpolation, softmax and the losses
(computed in float32 and rounded, as PyTorch's CPU does), values and gradients against torch."""
import numpy as np
import pytest

import nanotorch as nt

torch = pytest.importorskip("torch")

# a half result is one rounding of a float32 computation: within a few half ulps
# (2**-11 relative) of the largest magnitude; PyTorch rounds some intermediates too
_HALF_RTOL = 4 * 2.0 ** -11

CASES = {
    "conv2d": lambda L, F, x, w: F.conv2d(x, w, padding=1),
    "conv_transpose2d": lambda L, F, x, w: F.conv_transpose2d(x, w.transpose(0, 1), stride=2),
    "conv1d": lambda L, F, x, w: F.conv1d(x[:, :, 0], w[:, :, 0]),
    "max_pool2d": lambda L, F, x, w: F.max_pool2d(x, 2),
    "avg_pool2d": lambda L, F, x, w: F.avg_pool2d(x, 3, stride=1, padding=1),
    "adaptive_avg_pool2d": lambda L, F, x, w: F.adaptive_avg_pool2d(x, 4),
    "interpolate": lambda L, F, x, w: F.interpolate(x, scale_factor=2, mode="bilinear"),
    "batch_norm": lambda L, F, x, w: F.batch_norm(x, None, None, training=True),
    "layer_norm": lambda L, F, x, w: F.layer_norm(x, (6,)),
    "group_norm": lambda L, F, x, w: F.group_norm(x, 3),
    "softmax": lambda L, F, x, w: F.softmax(x, 1),
    "log_softmax": lambda L, F, x, w: L.log_softmax(x, 1),
    "cross_entropy": lambda L, F, x, w: F.cross_entropy(x[:, :, 0, 0], L.tensor([0, 2])),
    "mse_loss": lambda L, F, x, w: F.mse_loss(x, x.detach() * 0.5),
    "l1_loss": lambda L, F, x, w: F.l1_loss(x, x.detach() * 0.25),
    "binary_cross_entropy": lambda L, F, x, w: F.binary_cross_entropy(
        x.sigmoid(), (x.detach() > 0).half()),
    "bce_with_logits": lambda L, F, x, w: F.binary_cross_entropy_with_logits(
        x, (x.detach() > 0).half()),
    "Conv2d.half()": lambda L, F, x, w: (L.manual_seed(0), L.nn.Conv2d(3, 2, 3).half()(x))[1],
}


def _run(L, fn, x, w, v):
    xs, ws = L.tensor(x, requires_grad=True), L.tensor(w)
    y = fn(L, L.nn.functional, xs, ws)
    (y.float() * L.tensor(v[: y.numel()].reshape(y.shape))).sum().backward()
    return y, xs.grad


@pytest.mark.parametrize("name", sorted(CASES))
def test_half_matches_torch(name):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float16)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float16)
    v = rng.standard_normal(4096).astype(np.float32)
    (a, ga), (b, gb) = _run(nt, CASES[name], x, w, v), _run(torch, CASES[name], x, w, v)
    assert str(a.dtype) == str(b.dtype) == "torch.float16"
    assert ga.dtype == nt.float16 and tuple(a.shape) == tuple(b.shape)
    for got, want in ((a.detach().numpy(), b.detach().numpy()), (ga.numpy(), gb.numpy())):
        scale = float(np.abs(want.astype(np.float32)).max())
        np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32),
                                   rtol=0, atol=_HALF_RTOL * scale)


def test_half_batch_norm_updates_half_running_stats_like_torch():
    x = np.random.default_rng(2).standard_normal((4, 3, 5, 5)).astype(np.float16)
    stats = {}
    for L in (nt, torch):
        bn = L.nn.BatchNorm2d(3).half()
        bn(L.tensor(x))
        stats[L] = (bn.running_mean.numpy(), bn.running_var.numpy())
        assert bn.running_mean.dtype == L.float16
    for got, want in zip(stats[nt], stats[torch]):
        np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32),
                                   rtol=_HALF_RTOL, atol=_HALF_RTOL * 1e-2)


def test_half_input_with_float_target_promotes_the_loss():
    x = nt.tensor([0.5, 1.5], dtype=nt.float16)
    y = nt.tensor([1.0, 1.0])
    loss = nt.nn.functional.mse_loss(x, y)
    assert loss.dtype == nt.float32
    assert loss.item() == pytest.approx(0.25)
