"""Recurrent layers against the PyTorch wheel: RNN (tanh/relu), LSTM (with proj_size), GRU
and the three cells, with layers, bias, batch_first, bidirectional, initial states and
unbatched input (values, gradients of inputs, states and every parameter, seeded
initialisation, state_dict keys, reprs and PyTorch's messages), the fused gate ops'
double backward, and nn.utils.rnn."""
import warnings

import numpy as np
import pytest

import nanotorch as nt
from nanotorch import nn
from nanotorch.nn.utils import rnn as rnn_utils

torch = pytest.importorskip("torch")

# O(1) inputs and weights U(-1/sqrt(H), 1/sqrt(H)); errors of a few ulp per step grow at most
# linearly over these short sequences (<= 6 steps, 2 layers).
TOL = 2e-5


def pair(rng, shape):
    a = rng.standard_normal(shape).astype(np.float32)
    return nt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat(o)]
    return [out]


def seeded(name, args, kw):
    nt.manual_seed(0)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)


def check(name, args, kw, x_shape, state_shapes=None, seed=0):
    ours, theirs = seeded(name, args, kw)
    assert repr(ours) == repr(theirs)
    sd, sdt = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(sdt)
    for key in sd:   # same draws in the same order
        np.testing.assert_array_equal(sd[key].numpy(), sdt[key].numpy(), err_msg=key)
    rng = np.random.default_rng(seed)
    x, xt = pair(rng, x_shape)
    inputs, inputs_t = [x], [xt]
    if state_shapes:
        states = [pair(rng, s) for s in state_shapes]
        hx = tuple(a for a, _ in states)
        hx_t = tuple(b for _, b in states)
        if len(states) == 1:
            hx, hx_t = hx[0], hx_t[0]
        out, out_t = flat(ours(x, hx)), flat(theirs(xt, hx_t))
        inputs += [a for a, _ in states]
        inputs_t += [b for _, b in states]
    else:
        out, out_t = flat(ours(x)), flat(theirs(xt))
    assert len(out) == len(out_t)
    for a, b in zip(out, out_t):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=TOL, atol=TOL)
    weights = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in out]
    loss = sum((o * nt.tensor(w)).sum() for o, w in zip(out, weights))
    loss_t = sum((o * torch.tensor(w)).sum() for o, w in zip(out_t, weights))
    grads = nt.autograd.grad(loss, inputs + list(ours.parameters()))
    grads_t = torch.autograd.grad(loss_t, inputs_t + list(theirs.parameters()))
    for g, gt in zip(grads, grads_t):
        np.testing.assert_allclose(g.numpy(), gt.numpy(), rtol=TOL, atol=TOL)
    return ours


CASES = [
    ("RNN", (3, 5), {}, (4, 2, 3), None),
    ("RNN", (3, 5), {"nonlinearity": "relu", "num_layers": 2, "bidirectional": True,
                     "batch_first": True}, (2, 4, 3), [(4, 2, 5)]),
    ("RNN", (3, 5), {"bias": False}, (6, 3), [(1, 5)]),
    ("LSTM", (3, 5), {"num_layers": 2, "bidirectional": True}, (4, 2, 3), None),
    ("LSTM", (3, 5), {"proj_size": 2, "num_layers": 2, "bidirectional": True}, (4, 2, 3),
     [(4, 2, 2), (4, 2, 5)]),
    ("LSTM", (3, 5), {"bias": False, "batch_first": True}, (2, 6, 3), None),
    ("LSTM", (3, 5), {"proj_size": 3}, (4, 3), [(1, 3), (1, 5)]),
    ("GRU", (3, 5), {"num_layers": 2, "bidirectional": True, "batch_first": True}, (2, 4, 3),
     [(4, 2, 5)]),
    ("GRU", (3, 5), {"bias": False}, (4, 2, 3), None),
    ("RNNCell", (3, 5), {"nonlinearity": "relu"}, (2, 3), [(2, 5)]),
    ("RNNCell", (3, 5), {}, (3,), None),
    ("LSTMCell", (3, 5), {}, (2, 3), [(2, 5), (2, 5)]),
    ("LSTMCell", (3, 5), {"bias": False}, (3,), None),
    ("GRUCell", (3, 5), {}, (3,), [(5,)]),
    ("GRUCell", (3, 5), {"bias": False}, (2, 3), None),
]


@pytest.mark.parametrize("name, args, kw, x_shape, states", CASES)
def test_matches_torch(name, args, kw, x_shape, states):
    check(name, args, kw, x_shape, states)


def test_dropout_between_layers():
    ours, _ = seeded("LSTM", (3, 8), {"num_layers": 3, "dropout": 0.5})
    x = nt.randn(5, 2, 3)
    ours.train()
    a, b = ours(x)[0], ours(x)[0]
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    ours.eval()
    np.testing.assert_array_equal(ours(x)[0].detach().numpy(), ours(x)[0].detach().numpy())
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.2)


def test_all_weights_and_state_dict_round_trip_with_torch():
    ours, theirs = seeded("GRU", (4, 6), {"num_layers": 2, "bidirectional": True})
    assert [[tuple(p.shape) for p in ws] for ws in ours.all_weights] == \
        [[tuple(p.shape) for p in ws] for ws in theirs.all_weights]
    theirs.load_state_dict({k: torch.randn(v.shape) for k, v in theirs.state_dict().items()})
    ours.load_state_dict({k: nt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 2, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(nt.tensor(x))[0].detach().numpy(),
                               theirs(torch.tensor(x))[0].detach().numpy(), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("op", ["lstm", "gru"])
def test_fused_gates_double_backward(op):
    from helpers import gradcheck

    from nanotorch.ops import recurrent as R
    rng = np.random.default_rng(0)
    n, h = 2, 3
    gates = 4 if op == "lstm" else 3

    def t(*shape):
        return nt.tensor(rng.standard_normal(shape), dtype=nt.float64, requires_grad=True)
    gx, gh, state = t(n, gates * h), t(n, gates * h), t(n, h)
    fn = R.LSTMGates.apply if op == "lstm" else R.GRUGates.apply
    gradcheck(fn, [gx, gh, state])

    def first_grads(gx, gh, state):   # gradients as functions of the inputs: double backward
        out = fn(gx, gh, state)
        return nt.autograd.grad((out * out).sum(), (gx, gh, state), create_graph=True)
    gradcheck(first_grads, [gx, gh, state])


def test_errors_match_torch():
    def both(make, call):
        with pytest.raises(Exception) as ours:
            call(make(nn, nt))
        with pytest.raises(Exception) as theirs:
            call(make(torch.nn, torch))
        assert type(ours.value) is type(theirs.value)
        assert str(ours.value) == str(theirs.value)
    both(lambda m, t: m.RNN(3, 4), lambda r: r(nt.randn(2, 3, 5) if isinstance(r, nn.Module)
                                               else torch.randn(2, 3, 5)))
    both(lambda m, t: m.RNN(3, 4), lambda r: r(*_inputs(r, (2, 3, 3), (1, 2, 4))))
    both(lambda m, t: m.LSTM(3, 4), lambda r: r(*_lstm_inputs(r)))
    both(lambda m, t: m.RNNCell(3, 4), lambda r: r(*_inputs(r, (2, 5))))
    both(lambda m, t: m.RNNCell(3, 4), lambda r: r(*_inputs(r, (2, 3), (3, 4))))
    both(lambda m, t: m.RNNCell(3, 4), lambda r: r(*_inputs(r, (1, 2, 3))))
    both(lambda m, t: m.RNN(3, 4), lambda r: r(*_inputs(r, (1, 1, 1, 3))))
    both(lambda m, t: m.RNN(3, 4, nonlinearity="x"), lambda r: None)
    both(lambda m, t: m.GRU(3, 4, dropout=2), lambda r: None)
    both(lambda m, t: m.LSTM(3, 4, proj_size=4), lambda r: None)
    both(lambda m, t: m.RNN(3, 4), lambda r: r(*_inputs(r, (2, 3, 3), dtype="float64")))


def _inputs(module, *shapes, dtype="float32"):
    if isinstance(module, nn.Module):
        return [nt.randn(*s, dtype=getattr(nt, dtype)) for s in shapes]
    return [torch.randn(*s, dtype=getattr(torch, dtype)) for s in shapes]


def _lstm_inputs(module):
    x, h, c = _inputs(module, (2, 3, 3), (1, 3, 4), (1, 2, 4))
    return x, (h, c)


# nn.utils.rnn ------------------------------------------------------------------------------

def test_pad_sequence_matches_torch():
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 3)).astype(np.float32) for n in (4, 1, 3)]
    for kw in ({}, {"batch_first": True}, {"padding_value": -1.0},
               {"batch_first": True, "padding_side": "left"}):
        ours = rnn_utils.pad_sequence([nt.tensor(s) for s in seqs], **kw)
        theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], **kw)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    parts = [nt.tensor(s, requires_grad=True) for s in seqs]
    rnn_utils.pad_sequence(parts, batch_first=True).sum().backward()
    assert all(np.array_equal(p.grad.numpy(), np.ones_like(s)) for p, s in zip(parts, seqs))


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequences_through_rnn_match_torch(name, enforce_sorted):
    ours, theirs = seeded(name, (3, 4), {"num_layers": 2, "bidirectional": True})
    rng = np.random.default_rng(0)
    lengths = [5, 3, 2] if enforce_sorted else [3, 5, 2]
    x, xt = pair(rng, (5, 3, 3))
    packed = rnn_utils.pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
    packed_t = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths,
                                                       enforce_sorted=enforce_sorted)
    np.testing.assert_array_equal(packed.data.detach().numpy(), packed_t.data.detach().numpy())
    np.testing.assert_array_equal(packed.batch_sizes.numpy(), packed_t.batch_sizes.numpy())
    out, state = ours(packed)
    out_t, state_t = theirs(packed_t)
    padded, lens = rnn_utils.pad_packed_sequence(out)
    padded_t, lens_t = torch.nn.utils.rnn.pad_packed_sequence(out_t)
    np.testing.assert_array_equal(lens.numpy(), lens_t.numpy())
    results, results_t = [padded] + flat(state), [padded_t] + flat(state_t)
    for a, b in zip(results, results_t):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=TOL, atol=TOL)
    loss = sum((r * r).sum() for r in results)
    loss_t = sum((r * r).sum() for r in results_t)
    (gx,) = nt.autograd.grad(loss, x)
    (gxt,) = torch.autograd.grad(loss_t, xt)
    np.testing.assert_allclose(gx.numpy(), gxt.numpy(), rtol=TOL, atol=TOL)
