"""Attention and transformer layers against the PyTorch wheel: scaled_dot_product_attention,
MultiheadAttention, TransformerEncoder/Decoder(Layer), Transformer and torch.roll (values,
gradients of inputs and every parameter, seeded initialisation, state_dict keys, reprs and
PyTorch's messages)."""
import warnings

import numpy as np
import pytest

import nanotorch as nt
from nanotorch import nn
from nanotorch.nn import functional as F

torch = pytest.importorskip("torch")

# Inputs and weights are O(1) and every reduction is shorter than 64 terms, so float32
# rounding stays a few ulp of O(1) values; 2e-5 leaves room for the different summation
# orders of the two libraries' GEMMs.
TOL = 2e-5


def pair(rng, shape, dtype=np.float32):
    a = rng.standard_normal(shape).astype(dtype)
    return nt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat(o)]
    return [] if out is None else [out]


def assert_same_module(ours, theirs):
    """Same repr, state_dict keys, shapes and values (so the same seeded draws)."""
    assert repr(ours) == repr(theirs)
    sd, sdt = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(sdt)
    for key in sd:
        np.testing.assert_array_equal(sd[key].numpy(), sdt[key].numpy(), err_msg=key)


def assert_same_run(ours, theirs, inputs, kwargs=({}, {}), tol=TOL, seed=1):
    """Forward outputs and the gradients of a random projection of them with respect to
    the differentiable inputs and every parameter."""
    out, out_t = flat(ours(*inputs[0], **kwargs[0])), flat(theirs(*inputs[1], **kwargs[1]))
    assert len(out) == len(out_t)
    for a, b in zip(out, out_t):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in out]
    loss = sum((o * nt.tensor(w)).sum() for o, w in zip(out, weights))
    loss_t = sum((o * torch.tensor(w)).sum() for o, w in zip(out_t, weights))
    wrt = [t for t in inputs[0] if isinstance(t, nt.Tensor) and t.requires_grad]
    wrt_t = [t for t in inputs[1] if isinstance(t, torch.Tensor) and t.requires_grad]
    wrt += list(ours.parameters())
    wrt_t += list(theirs.parameters())
    grads, grads_t = nt.autograd.grad(loss, wrt), torch.autograd.grad(loss_t, wrt_t)
    for g, gt in zip(grads, grads_t):
        np.testing.assert_allclose(g.numpy(), gt.numpy(), rtol=tol, atol=tol)


def seeded(build, build_t):
    nt.manual_seed(0)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build(), build_t()


# scaled_dot_product_attention ----------------------------------------------------------------

@pytest.mark.parametrize("case", ["plain", "causal", "bool", "float", "scale", "dead_row", "gqa"])
def test_sdpa_matches_torch(case):
    rng = np.random.default_rng(0)
    q, qt = pair(rng, (2, 4, 5, 8))
    heads_kv = 2 if case == "gqa" else 4
    k, kt = pair(rng, (2, heads_kv, 6, 8))
    v, vt = pair(rng, (2, heads_kv, 6, 3))
    kw = {}
    mask = rng.random((5, 6)) > 0.3
    if case == "causal":
        kw = {"is_causal": True}
    elif case in ("bool", "dead_row"):
        if case == "dead_row":
            mask[2] = False   # a query that may attend nothing gives zeros, as in PyTorch
        kw = {"attn_mask": mask}
    elif case == "float":
        kw = {"attn_mask": rng.standard_normal((5, 6)).astype(np.float32)}
    elif case == "scale":
        kw = {"scale": 0.3}
    elif case == "gqa":
        kw = {"enable_gqa": True}
    kw_t = {k_: torch.tensor(v_) if isinstance(v_, np.ndarray) else v_ for k_, v_ in kw.items()}
    kw = {k_: nt.tensor(v_) if isinstance(v_, np.ndarray) else v_ for k_, v_ in kw.items()}
    out = F.scaled_dot_product_attention(q, k, v, **kw)
    out_t = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, **kw_t)
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=TOL, atol=TOL)
    g = rng.standard_normal(tuple(out.shape)).astype(np.float32)
    grads = nt.autograd.grad(out, (q, k, v), nt.tensor(g))
    grads_t = torch.autograd.grad(out_t, (qt, kt, vt), torch.tensor(g))
    for a, b in zip(grads, grads_t):
        assert np.isfinite(a.numpy()).all()
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=TOL, atol=TOL)


def test_sdpa_dropout_and_errors():
    rng = np.random.default_rng(0)
    q = nt.tensor(rng.standard_normal((64, 4, 8)).astype(np.float32))
    v = nt.ones(64, 4, 8)
    nt.manual_seed(0)
    out = F.scaled_dot_product_attention(q, q, v, dropout_p=0.5).numpy()
    # rows of attention weights sum to 1 before dropout; kept weights are doubled, so the
    # output is 2 * (sum of kept weights): a mean of 1 over many rows, not always 1
    assert abs(out.mean() - 1.0) < 0.1 and out.std() > 0.1
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when "
                                           "is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=nt.ones(4, 4, dtype=nt.bool),
                                       is_causal=True)
    with pytest.raises(RuntimeError, match="same last dimension"):
        F.scaled_dot_product_attention(q, q[..., :3], q)


# MultiheadAttention ----------------------------------------------------------------------------

MHA_CASES = [{}, {"batch_first": True}, {"kdim": 5, "vdim": 7}, {"add_bias_kv": True},
             {"add_zero_attn": True}, {"bias": False}, {"dropout": 0.25}]


@pytest.mark.parametrize("kw", MHA_CASES)
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_matches_torch(kw, need_weights):
    ours, theirs = seeded(lambda: nn.MultiheadAttention(8, 2, **kw),
                          lambda: torch.nn.MultiheadAttention(8, 2, **kw))
    assert_same_module(ours, theirs)
    ours.eval()   # dropout (checked above) would draw differently
    theirs.eval()
    rng = np.random.default_rng(0)
    L, S, N = 3, 4, 2

    def shape(length, dim):
        return (N, length, dim) if kw.get("batch_first") else (length, N, dim)
    q, qt = pair(rng, shape(L, 8))
    k, kt = pair(rng, shape(S, kw.get("kdim", 8)))
    v, vt = pair(rng, shape(S, kw.get("vdim", 8)))
    padding = rng.random((N, S)) > 0.6
    padding[:, 0] = False
    mask = rng.standard_normal((L, S)).astype(np.float32)
    kwargs = ({"key_padding_mask": nt.tensor(padding), "attn_mask": nt.tensor(mask),
               "need_weights": need_weights},
              {"key_padding_mask": torch.tensor(padding), "attn_mask": torch.tensor(mask),
               "need_weights": need_weights})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # bool padding with a float mask warns in both
        assert_same_run(ours, theirs, ([q, k, v], [qt, kt, vt]), kwargs)


def test_multihead_self_attention_unbatched_causal_and_per_head_weights():
    ours, theirs = seeded(lambda: nn.MultiheadAttention(8, 4),
                          lambda: torch.nn.MultiheadAttention(8, 4))
    rng = np.random.default_rng(3)
    x, xt = pair(rng, (5, 8))
    causal = nn.Transformer.generate_square_subsequent_mask(5)
    causal_t = torch.nn.Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(causal.numpy(), causal_t.numpy())
    for need in (True, False):
        kw = {"attn_mask": causal, "is_causal": True, "need_weights": need}
        kw_t = {"attn_mask": causal_t, "is_causal": True, "need_weights": need}
        out, w = ours(x, x, x, **kw)
        out_t, w_t = theirs(xt, xt, xt, **kw_t)
        np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=TOL,
                                   atol=TOL)
        assert (w is None) == (w_t is None)
    x3, x3t = pair(rng, (2, 5, 8))
    _, w = ours(x3, x3, x3, average_attn_weights=False)
    _, w_t = theirs(x3t, x3t, x3t, average_attn_weights=False)
    assert tuple(w.shape) == (5, 4, 2, 2) == tuple(w_t.shape)
    np.testing.assert_allclose(w.detach().numpy(), w_t.detach().numpy(), rtol=TOL, atol=TOL)


def test_multihead_attention_errors():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(8, 2)
    x = nt.randn(3, 2, 8)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is "
                                           r"torch.Size\(\[2, 2\]\), but should be \(3, 3\)."):
        m(x, x, x, attn_mask=nt.zeros(2, 2))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 4"):
        m(x[..., :4], x[..., :4], x[..., :4])
    with pytest.raises(AssertionError, match="only bool and floating types of key_padding_mask"):
        m(x, x, x, key_padding_mask=nt.zeros(2, 3, dtype=nt.int64))


def _mask_kwargs(mask_name, size, padding_name, padding):
    """Forward kwargs for (nanotorch, torch): a causal ``size`` mask and a key-padding mask."""
    return tuple({mask_name: lib.nn.Transformer.generate_square_subsequent_mask(size),
                  padding_name: lib.tensor(padding)} for lib in (nt, torch))


# Transformer layers ----------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"norm_first": True, "activation": "gelu",
                                     "batch_first": True}, {"bias": False}])
def test_transformer_encoder_matches_torch(kw):
    ours, theirs = seeded(
        lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, **kw),
                                      2, norm=nn.LayerNorm(16)),
        lambda: torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, **kw), 2,
            norm=torch.nn.LayerNorm(16)))
    assert_same_module(ours, theirs)
    rng = np.random.default_rng(0)
    x, xt = pair(rng, (3, 5, 16) if kw.get("batch_first") else (5, 3, 16))
    padding = np.zeros((3, 5), bool)
    padding[0, 3:] = True
    kwargs = _mask_kwargs("mask", 5, "src_key_padding_mask", padding)
    assert_same_run(ours, theirs, ([x], [xt]), kwargs)


def test_transformer_encoder_layer_callable_activation_and_messages():
    ours, theirs = seeded(lambda: nn.TransformerEncoderLayer(8, 2, 16, 0.0, activation=nn.GELU()),
                          lambda: torch.nn.TransformerEncoderLayer(8, 2, 16, 0.0,
                                                                   activation=torch.nn.GELU()))
    assert_same_module(ours, theirs)
    rng = np.random.default_rng(0)
    x, xt = pair(rng, (4, 2, 8))
    assert_same_run(ours, theirs, ([x], [xt]))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.warns(UserWarning, match="enable_nested_tensor is True, but "
                                         "self.use_nested_tensor is False"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 1)


def test_transformer_matches_torch():
    ours, theirs = seeded(lambda: nn.Transformer(16, 4, 2, 2, 32, dropout=0.0),
                          lambda: torch.nn.Transformer(16, 4, 2, 2, 32, dropout=0.0))
    assert_same_module(ours, theirs)
    rng = np.random.default_rng(0)
    src, src_t = pair(rng, (6, 2, 16))
    tgt, tgt_t = pair(rng, (4, 2, 16))
    memory_padding = np.zeros((2, 6), bool)
    memory_padding[1, 4:] = True
    kwargs = _mask_kwargs("tgt_mask", 4, "memory_key_padding_mask", memory_padding)
    assert_same_run(ours, theirs, ([src, tgt], [src_t, tgt_t]), kwargs)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        ours(src, tgt[:, :1])
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal "
                                           "to d_model"):
        ours(src[..., :8], tgt[..., :8])


def test_transformer_decoder_norm_first_batch_first():
    kw = {"norm_first": True, "batch_first": True, "dropout": 0.0}
    ours, theirs = seeded(
        lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, **kw), 2),
        lambda: torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, 16, **kw),
                                            2))
    assert_same_module(ours, theirs)
    rng = np.random.default_rng(0)
    tgt, tgt_t = pair(rng, (2, 3, 8))
    mem, mem_t = pair(rng, (2, 5, 8))
    assert_same_run(ours, theirs, ([tgt, mem], [tgt_t, mem_t]),
                    ({"tgt_is_causal": True,
                      "tgt_mask": nn.Transformer.generate_square_subsequent_mask(3)},
                     {"tgt_is_causal": True,
                      "tgt_mask": torch.nn.Transformer.generate_square_subsequent_mask(3)}))


def test_transformer_trains_in_train_mode_with_dropout():
    nt.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = nt.randn(4, 2, 8)
    a, b = layer(x), layer(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())   # dropout is active
    a.sum().backward()
    assert all(p.grad is not None for p in layer.parameters())
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())


# roll --------------------------------------------------------------------------------------

@pytest.mark.parametrize("shifts, dims", [(1, None), (-7, None), (2, 1), ((1, -2), (0, 2)),
                                          ((3, 1), (-1, 0))])
def test_roll_matches_torch(shifts, dims):
    rng = np.random.default_rng(0)
    x, xt = pair(rng, (3, 4, 5))
    out = nt.roll(x, shifts, dims)
    out_t = torch.roll(xt, shifts, dims)
    np.testing.assert_array_equal(out.detach().numpy(), out_t.detach().numpy())
    np.testing.assert_array_equal(x.roll(shifts, dims).detach().numpy(), out_t.detach().numpy())
    g = rng.standard_normal((3, 4, 5)).astype(np.float32)
    (gx,) = nt.autograd.grad(out, x, nt.tensor(g))
    (gxt,) = torch.autograd.grad(out_t, xt, torch.tensor(g))
    np.testing.assert_array_equal(gx.numpy(), gxt.numpy())
    assert type(out.grad_fn).__name__ == "RollBackward0"


def test_roll_double_backward_and_errors():
    from helpers import gradcheck
    x = nt.randn(3, 4, dtype=nt.float64, requires_grad=True)
    gradcheck(lambda t: nt.roll(t * t, (1, 2), (0, 1)), [x])
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:0"):
        nt.roll(x, (1, 2))
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:1"):
        nt.roll(x, (1, 2), (0,))
