"""A small CNN and an MLP trained for 5 steps from identical weights and batches give the
same per-step losses as PyTorch."""
import numpy as np
import pytest
from helpers import float32_atol, network_terms

import nanotorch as nt

torch = pytest.importorskip("torch")


def _cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Dropout(0.0), nn.Linear(64, 10))


def _losses(lib, model, batches, make_opt):
    opt = make_opt(lib, model)
    out = []
    for x, y in batches:
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(lib.from_numpy(x)), lib.from_numpy(y))
        loss.backward()
        opt.step()
        out.append(loss.item())
    return out


@pytest.mark.parametrize("arch, shape", [(_cnn, (8, 1, 28, 28)), (_mlp, (16, 784))])
@pytest.mark.parametrize("optim", ["sgd", "adam"])
def test_five_steps_match_pytorch(arch, shape, optim):
    torch.manual_seed(0)
    ref = arch(torch).train()
    model = arch(nt).train()
    model.load_state_dict({k: nt.from_numpy(v.detach().numpy().copy())
                           for k, v in ref.state_dict().items()})
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal(shape).astype(np.float32),
                rng.integers(0, 10, shape[0]).astype(np.int64)) for _ in range(5)]

    def make_opt(lib, m):
        if optim == "sgd":
            return lib.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
        return lib.optim.Adam(m.parameters(), lr=1e-3)

    expected = _losses(torch, ref, batches, make_opt)
    got = _losses(nt, model, batches, make_opt)
    # each step's loss carries the rounding of every forward and backward pass before it
    atol = float32_atol(np.abs(expected).max(), len(batches) * network_terms(ref))
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)
