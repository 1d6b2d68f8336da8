"""Programs the tests in test_distributed.py run under ``mpiexec`` (one case per launch, so
a launch's few seconds of start-up cover many checks). Not collected as tests: run as
``python tests/test_distributed_worker.py CASE``; each case prints ``rank R ok`` when all
its checks pass and raises (aborting the job) otherwise."""
from __future__ import annotations

import datetime
import os
import signal
import sys
import time

import numpy as np

import nanotorch as nt
import nanotorch.distributed as dist
from nanotorch import nn
from nanotorch.nn.parallel import DistributedDataParallel as DDP


def _expect_error(kind, fn, match):
    try:
        fn()
    except kind as e:
        assert match in str(e), f"wrong message: {e}"
        return
    raise AssertionError(f"expected {kind.__name__} containing {match!r}")


def _per_rank(rank, shape, dtype=np.float32):
    """A tensor every rank can rebuild for any rank: values depend on the rank."""
    n = int(np.prod(shape))
    return (np.arange(n, dtype=np.float64).reshape(shape) % 7 + rank + 1).astype(dtype)


def case_collectives():
    _expect_error(ValueError, lambda: dist.init_process_group("nccl"), "backend 'nccl'")
    _expect_error(ValueError, lambda: dist.init_process_group("mpi", world_size=99),
                  "world_size=99")
    dist.init_process_group(backend="mpi", init_method="env://")
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    _expect_error(RuntimeError, lambda: dist.init_process_group("mpi"), "twice")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert world == int(os.environ["EXPECTED_WORLD"])
    every = np.stack([_per_rank(r, (3, 4), np.float64) for r in range(world)])
    expected = {dist.ReduceOp.SUM: every.sum(0), dist.ReduceOp.AVG: every.mean(0),
                dist.ReduceOp.MAX: every.max(0), dist.ReduceOp.MIN: every.min(0),
                dist.ReduceOp.PRODUCT: every.prod(0)}
    # float32: the sum of `world` values of size <= 7+world, relative error <= world * eps
    for op, want in expected.items():
        t = nt.tensor(_per_rank(rank, (3, 4)))
        assert dist.all_reduce(t, op=op) is None
        np.testing.assert_allclose(t.numpy(), want, rtol=world * 1.2e-7)
    t = nt.tensor(_per_rank(rank, (3, 4), np.int64))
    dist.all_reduce(t)
    np.testing.assert_array_equal(t.numpy(), every.sum(0).astype(np.int64))
    _expect_error(RuntimeError, lambda: dist.all_reduce(t, op=dist.ReduceOp.AVG), "AVG")
    flags = nt.tensor([rank == 0, True, False])
    dist.all_reduce(flags)                       # bool SUM is a logical or
    assert flags.tolist() == [True, True, False]

    # in place: same array object; a non-contiguous view writes through to its base
    t = nt.tensor(_per_rank(rank, (4, 6)))
    arr = t._array
    version = t._version
    dist.all_reduce(t)
    assert t._array is arr and t._version > version
    base = nt.tensor(_per_rank(rank, (4, 6)))
    view = base.t()[::2]
    dist.all_reduce(view)
    np.testing.assert_allclose(base.numpy()[:, ::2], every_sum((4, 6), world)[:, ::2],
                               rtol=world * 1.2e-7)
    np.testing.assert_array_equal(base.numpy()[:, 1::2], _per_rank(rank, (4, 6))[:, 1::2])

    # async: a handle, and the result only after wait()
    t = nt.tensor(_per_rank(rank, (1000,)))
    work = dist.all_reduce(t, op=dist.ReduceOp.MAX, async_op=True)
    assert isinstance(work, dist.Work)
    assert work.wait() and work.is_completed()
    np.testing.assert_array_equal(t.numpy(), _per_rank(world - 1, (1000,)))

    # broadcast from every source, including a non-contiguous target
    for src in range(world):
        t = nt.tensor(_per_rank(rank, (5, 3), np.int32))
        dist.broadcast(t, src=src)
        np.testing.assert_array_equal(t.numpy(), _per_rank(src, (5, 3), np.int32))
        base = nt.zeros(3, 5) if rank != src else nt.tensor(_per_rank(src, (3, 5)))
        dist.broadcast(base.t(), src=src, async_op=True).wait()
        np.testing.assert_array_equal(base.numpy(), _per_rank(src, (3, 5)))
    _expect_error(ValueError, lambda: dist.broadcast(t, src=world), f"src={world}")

    # all_gather (list and into one tensor), gather, scatter, reduce
    mine = nt.tensor(_per_rank(rank, (2, 3)))
    outs = [nt.zeros(2, 3) for _ in range(world)]
    dist.all_gather(outs, mine)
    for r, o in enumerate(outs):
        np.testing.assert_array_equal(o.numpy(), _per_rank(r, (2, 3)))
    _expect_error(ValueError, lambda: dist.all_gather(outs[:1], mine), "list of")
    big = nt.zeros(world * 2, 3)
    dist.all_gather_into_tensor(big, mine, async_op=True).wait()
    np.testing.assert_array_equal(big.numpy(), np.concatenate([_per_rank(r, (2, 3))
                                                               for r in range(world)]))
    _expect_error(ValueError, lambda: dist.all_gather_into_tensor(nt.zeros(5), mine),
                  "world_size")
    dst = world - 1
    got = [nt.zeros(2, 3) for _ in range(world)] if rank == dst else None
    dist.gather(mine, got, dst=dst)
    if rank == dst:
        for r, o in enumerate(got):
            np.testing.assert_array_equal(o.numpy(), _per_rank(r, (2, 3)))
    parts = [nt.full((2, 3), float(r * 10)) for r in range(world)] if rank == 0 else None
    target = nt.zeros(2, 3)
    dist.scatter(target, parts, src=0)
    np.testing.assert_array_equal(target.numpy(), np.full((2, 3), rank * 10.0, np.float32))
    t = nt.tensor(_per_rank(rank, (3, 4)))
    dist.reduce(t, dst=dst, op=dist.ReduceOp.SUM)
    want = every.sum(0) if rank == dst else _per_rank(rank, (3, 4))
    np.testing.assert_allclose(t.numpy(), want, rtol=world * 1.2e-7)
    _expect_error(TypeError, lambda: dist.all_reduce(np.zeros(3)), "nanotorch Tensor")
    assert dist.barrier() is None
    dist.barrier(async_op=True).wait()
    dist.destroy_process_group()
    assert not dist.is_initialized()
    _expect_error(ValueError, dist.get_rank, "has not been initialized")


def every_sum(shape, world):
    return np.stack([_per_rank(r, shape, np.float64) for r in range(world)]).sum(0)


# ------------------------------------------------------------------------------ DDP models
def _cnn(frozen_bn):
    nt.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    if frozen_bn:
        bn = model[1]
        with nt.no_grad():
            bn.running_mean.copy_(nt.randn(8) * 0.1)
            bn.running_var.copy_(nt.rand(8) + 0.5)
        for p in bn.parameters():
            p.requires_grad = False
    return model


def _head_only():
    nt.manual_seed(1)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 4))
    for p in list(model[0].parameters()) + list(model[2].parameters()):
        p.requires_grad = False
    return model


def _set_train_mode(model):
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and not m.weight.requires_grad:
            m.eval()   # frozen BN: running statistics, not batch statistics


def _train(model, batches, rank, world, lr=0.1):
    opt = nt.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr,
                       momentum=0.9, weight_decay=1e-4)
    for x, y in batches:
        shard = slice(rank * len(x) // world, (rank + 1) * len(x) // world)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[shard]), y[shard]).backward()
        opt.step()


def _assert_same_weights(ddp_model, reference, steps):
    # per step the averaged gradient differs from the full-batch one by float32 rounding of
    # sums over the batch and the ranks (relative ~ 1e-6); lr 0.1 and momentum carry a few
    # such errors per step into the weights, far below the change training makes (~1e-1)
    for (name, a), b in zip(ddp_model.state_dict().items(), reference.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=2e-5 * steps,
                                   err_msg=name)


def _trained_bn():
    """BatchNorm layers in training mode (2-D and 4-D inputs): SyncBatchNorm on the ranks."""
    nt.manual_seed(2)
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                         nn.Flatten(), nn.Linear(6 * 8 * 8, 16), nn.BatchNorm1d(16), nn.ReLU(),
                         nn.Linear(16, 4))


def case_equivalence():
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    gen = nt.Generator().manual_seed(123)
    cases = ((lambda: _cnn(True), (3, 8, 8), False), (_head_only, (20,), False),
             (_trained_bn, (3, 8, 8), True))
    for build, shape, sync_bn in cases:
        batches = [(nt.randn(8, *shape, generator=gen), nt.randint(0, 4, (8,), generator=gen))
                   for _ in range(6)]
        reference = build()
        _set_train_mode(reference)
        initial = {k: v.clone() for k, v in reference.state_dict().items()}
        _train(reference, batches, 0, 1)
        model = build()
        if sync_bn:
            model = nn.parallel.SyncBatchNorm.convert_sync_batchnorm(model)
            assert isinstance(model[1], nn.parallel.SyncBatchNorm)
        if rank:   # different start on other ranks: DDP must copy rank 0's
            with nt.no_grad():
                for p in model.parameters():
                    p.add_(1.0)
        ddp = DDP(model, bucket_cap_mb=0.001)
        _set_train_mode(ddp)
        _train(ddp, batches, rank, world)
        _assert_same_weights(model, reference, len(batches))
        for name, p in model.named_parameters():   # training changed the trainable ones only
            moved = not np.array_equal(p.detach().numpy(), initial[name].numpy())
            assert moved == p.requires_grad, name


def case_semantics():
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    # buckets: reverse parameter order, capped, frozen parameters left out
    nt.manual_seed(rank)   # different initial weights per rank
    model = nn.Sequential(nn.Linear(6, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 64),
                          nn.ReLU(), nn.Linear(64, 3))
    model[3].bias.requires_grad = False
    ddp = DDP(model, bucket_cap_mb=200 / 2**20)   # 200-byte buckets
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert sum(ddp.bucket_bytes) == sum(p.numel() * 4 for p in trainable)
    # trainable: 0-1 first Linear, 2-3 BatchNorm, 4 middle weight (bias frozen), 5-6 last
    # Linear; a bucket closes once it holds >= 200 bytes (the last bias alone has 12)
    assert [b.indices for b in ddp._reducer.buckets] == [[6, 5], [4], [3], [2], [1], [0]]
    # wrap-time broadcast: every rank now holds rank 0's parameters and buffers
    nt.manual_seed(0)
    rank0 = nn.Sequential(nn.Linear(6, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 64),
                          nn.ReLU(), nn.Linear(64, 3))
    rank0[3].bias.requires_grad = False
    for (name, a), b in zip(model.state_dict().items(), rank0.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert list(ddp.state_dict())[0].startswith("module.")
    assert ddp.module is model

    # gradients are averaged by the time backward returns, a bucket's all-reduce starts
    # during backward (before the first layer's gradients exist), frozen ones are skipped
    launched_during_backward = []
    x = nt.randn(8, 6, generator=nt.Generator().manual_seed(10 + rank)).requires_grad_()
    x.register_hook(lambda g: launched_during_backward.append(ddp._reducer.next_bucket))
    ddp(x).square().mean().backward()
    assert launched_during_backward and launched_during_backward[0] >= 1
    assert model[3].bias.grad is None
    grads = [p.grad.numpy().copy() for p in trainable]
    local = _local_grads(rank0, 10 + rank)
    every = [np.zeros_like(g) for g in grads]
    for r in range(world):
        for e, g in zip(every, _local_grads(rank0, 10 + r)):
            e += g / world
    for g, e in zip(grads, every):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(g, loc) for g, loc in zip(grads, local))

    # no_sync: local accumulation, then the next synced backward averages the sum
    for p in model.parameters():
        p.grad = None
    with ddp.no_sync():
        ddp(_inputs(20 + rank)).square().mean().backward()
    for p, loc in zip(trainable, _local_grads(rank0, 20 + rank)):
        np.testing.assert_allclose(p.grad.numpy(), loc, rtol=1e-5, atol=1e-6)
    ddp(_inputs(30 + rank)).square().mean().backward()
    want = [np.zeros_like(g) for g in grads]
    for r in range(world):
        for w, a, b in zip(want, _local_grads(rank0, 20 + r), _local_grads(rank0, 30 + r)):
            w += (a + b) / world
    for p, w in zip(trainable, want):
        np.testing.assert_allclose(p.grad.numpy(), w, rtol=1e-5, atol=1e-6)

    # buffers: rank 0's running statistics are copied to all ranks at each forward
    with nt.no_grad():
        model[1].running_mean.fill_(float(rank))
    ddp.eval()
    out = ddp(_inputs(40))
    assert model[1].running_mean.tolist() == [0.0] * 64
    gathered = [nt.zeros(*out.shape) for _ in range(world)]
    dist.all_gather(gathered, out.detach())
    for o in gathered:
        np.testing.assert_array_equal(o.numpy(), gathered[0].numpy())
    ddp.train()

    # an unused parameter: PyTorch's error at the next forward, or find_unused_parameters
    branchy = Branchy()
    plain = DDP(branchy)
    plain(_inputs(50)).sum().backward()   # uses `a` only: `b` is never reduced
    _expect_error(RuntimeError, lambda: plain(_inputs(51)), "find_unused_parameters=True")
    branchy = Branchy()
    finder = DDP(branchy, find_unused_parameters=True)
    finder(_inputs(52)).sum().backward()
    assert branchy.b.weight.grad is None and branchy.a.weight.grad is not None
    finder(_inputs(53)).sum().backward()   # the next iteration works
    _expect_error(TypeError, lambda: DDP(np.zeros(3)), "nn.Module")


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        nt.manual_seed(5)
        self.a, self.b = nn.Linear(6, 2), nn.Linear(6, 2)

    def forward(self, x):
        return self.a(x)


def _inputs(seed):
    return nt.randn(8, 6, generator=nt.Generator().manual_seed(seed))


def _local_grads(reference, seed):
    """Gradients one rank computes alone for input ``seed`` (no communication)."""
    reference.zero_grad(set_to_none=True)
    reference.train()
    reference(_inputs(seed)).square().mean().backward()
    return [p.grad.numpy().copy() for p in reference.parameters() if p.requires_grad]


def case_die():
    """Rank 1 dies (SIGKILL) at step 3; rank 0 must not hang in its next all-reduce."""
    dist.init_process_group("mpi")
    t = nt.ones(1000)
    for step in range(50):
        if dist.get_rank() == 1 and step == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        dist.all_reduce(t)
        time.sleep(0.05)
    print(f"rank {dist.get_rank()} finished all steps", flush=True)


def case_hang():
    """Rank 1 stops taking part (alive, stuck); rank 0's collective times out."""
    dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=2))
    if dist.get_rank() == 1:
        time.sleep(120)
    dist.all_reduce(nt.ones(3))
    print(f"rank {dist.get_rank()} finished", flush=True)


def case_raise():
    """An exception on rank 1 aborts the whole job instead of leaving rank 0 waiting."""
    dist.init_process_group("mpi")
    if dist.get_rank() == 1:
        raise ValueError("rank 1 failed on purpose")
    dist.all_reduce(nt.ones(3))
    print(f"rank {dist.get_rank()} finished", flush=True)


if __name__ == "__main__":
    globals()[f"case_{sys.argv[1]}"]()
    rank = dist.get_rank() if dist.is_initialized() else os.environ["OMPI_COMM_WORLD_RANK"]
    print(f"rank {rank} ok", flush=True)
