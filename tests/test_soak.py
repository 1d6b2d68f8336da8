"""Soak tests: 10,000 training steps must not leak memory, tensors or autograd graphs.

Not in the default run (marker ``soak``, excluded by ``addopts``). Run with

    python -m pytest -m soak tests/test_soak.py -s

Each test reads the resident set size (VmRSS in /proc/self/status) and counts the live
nanotorch Tensors and autograd graph nodes after a warm-up (Numba compiled, optimizer
state created) and again at the end; it prints them and records them as junit
properties. ``NANOTORCH_SOAK_STEPS`` overrides the step count (for trying the test out;
the soak itself is 10,000 steps).
"""
from __future__ import annotations

import gc
import os
import time

import numpy as np
import pytest

import nanotorch as nt
from nanotorch import nn
from nanotorch.autograd.node import Node
from nanotorch.tensor import Tensor
from nanotorch.utils.data import DataLoader, TensorDataset

pytestmark = pytest.mark.soak

STEPS = int(os.environ.get("NANOTORCH_SOAK_STEPS", "10000"))
WARMUP = 200
RSS_GROWTH_LIMIT_MIB = 32.0
STATUS = "/proc/self/status"


def _rss_mib():
    with open(STATUS) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0  # the value is in kB
    raise RuntimeError(f"no VmRSS line in {STATUS}")


def _snapshot():
    """(rss MiB, live Tensors, live autograd Nodes, all gc-tracked objects) after a full
    collection, so that only what is really still referenced counts."""
    gc.collect()
    objs = gc.get_objects()
    tensors = sum(1 for o in objs if isinstance(o, Tensor))
    nodes = sum(1 for o in objs if isinstance(o, Node))
    return _rss_mib(), tensors, nodes, len(objs)


@pytest.fixture(autouse=True)
def _need_proc():
    if not os.path.exists(STATUS):
        pytest.skip(f"{STATUS} not found: resident memory can only be read on Linux-like "
                    "systems with /proc")


def _report(name, start, end, seconds, steps, record_property):
    (rss0, t0, n0, o0), (rss1, t1, n1, o1) = start, end
    lines = [
        f"{name}: {steps} steps in {seconds:.1f} s ({1e3 * seconds / steps:.2f} ms/step)",
        f"  resident memory after {WARMUP} warm-up steps: {rss0:.1f} MiB, at the end: "
        f"{rss1:.1f} MiB (growth {rss1 - rss0:+.1f} MiB, limit {RSS_GROWTH_LIMIT_MIB} MiB)",
        f"  live Tensors {t0} -> {t1}, autograd nodes {n0} -> {n1}, "
        f"gc-tracked objects {o0} -> {o1}",
    ]
    print("\n" + "\n".join(lines))
    for key, value in (("steps", steps), ("seconds", round(seconds, 2)),
                       ("rss_start_mib", round(rss0, 1)), ("rss_end_mib", round(rss1, 1)),
                       ("tensors_start", t0), ("tensors_end", t1),
                       ("nodes_start", n0), ("nodes_end", n1),
                       ("gc_objects_start", o0), ("gc_objects_end", o1)):
        record_property(f"{name}_{key}", value)


def _check(start, end):
    (rss0, t0, n0, _), (rss1, t1, n1, _) = start, end
    assert t1 <= t0, f"live Tensors grew from {t0} to {t1}"
    assert n1 <= n0, f"live autograd nodes grew from {n0} to {n1}"
    assert rss1 - rss0 < RSS_GROWTH_LIMIT_MIB, (
        f"resident memory grew by {rss1 - rss0:.1f} MiB ({rss0:.1f} -> {rss1:.1f} MiB), "
        f"limit {RSS_GROWTH_LIMIT_MIB} MiB")


def _model():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.1), nn.Flatten(), nn.Linear(8 * 4 * 4, 32), nn.ReLU(),
        nn.Linear(32, 10),
    )


def _batches(loader):
    while True:  # epoch after epoch, a fresh iterator (and shuffle) each time
        yield from loader


def test_soak_training_loop_memory_is_flat(record_property):
    nt.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, 512)
    loader = DataLoader(TensorDataset(nt.tensor(x), nt.tensor(y)), batch_size=16,
                        shuffle=True, drop_last=True)
    model = _model()
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    opt = nt.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    sched = nt.optim.lr_scheduler.StepLR(opt, step_size=2000, gamma=0.5)
    batches = _batches(loader)
    running = 0.0
    start = None
    t_begin = time.perf_counter()
    for step in range(STEPS):
        if step == WARMUP:
            start = _snapshot()
        xb, yb = next(batches)
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        sched.step()
        running += loss.item()
        if step % 500 == 100:  # an eval pass now and then (the first one inside the warm-up)
            model.eval()
            with nt.no_grad():
                model(xb).argmax(1)
    seconds = time.perf_counter() - t_begin
    end = _snapshot()
    _report("training", start, end, seconds, STEPS, record_property)
    assert np.isfinite(running)
    _check(start, end)


def test_soak_autograd_patterns_memory_is_flat(record_property):
    # the autograd patterns of user code, no Module: set_to_none zero_grad, backward through
    # a graph kept with retain_graph=True for a second loss, autograd.grad without
    # create_graph, and a detached running loss
    rng = np.random.default_rng(1)
    w1 = nt.tensor(rng.standard_normal((16, 32)).astype(np.float32) * 0.2, requires_grad=True)
    b1 = nt.zeros(32, requires_grad=True)
    w2 = nt.tensor(rng.standard_normal((32, 4)).astype(np.float32) * 0.2, requires_grad=True)
    params = [w1, b1, w2]
    opt = nt.optim.Adam(params, lr=1e-3)
    data = nt.tensor(rng.standard_normal((64, 16)).astype(np.float32))
    target = nt.tensor(rng.integers(0, 4, 64))
    running = nt.zeros(())
    start = None
    t_begin = time.perf_counter()
    for step in range(STEPS):
        if step == WARMUP:
            start = _snapshot()
        xb = data[(step * 8) % 64:(step * 8) % 64 + 8]
        yb = target[(step * 8) % 64:(step * 8) % 64 + 8]
        opt.zero_grad(set_to_none=True)
        hidden = nt.relu(xb @ w1 + b1)
        logits = hidden @ w2
        loss = nn.functional.cross_entropy(logits, yb)
        loss.backward(retain_graph=True)  # the graph is used once more below
        (1e-4 * (hidden ** 2).mean()).backward()
        if step % 10 == 0:
            (g,) = nt.autograd.grad(logits.sum(), [w2], create_graph=False)
            assert g.grad_fn is None
        opt.step()
        running = running + loss.detach()
    seconds = time.perf_counter() - t_begin
    end = _snapshot()
    _report("autograd", start, end, seconds, STEPS, record_property)
    assert np.isfinite(running.item())
    _check(start, end)
