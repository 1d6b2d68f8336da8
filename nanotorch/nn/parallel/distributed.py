"""``DistributedDataParallel``: the same model on every rank, each rank a different slice of
the batch, gradients averaged during backward so every rank takes the same optimizer step."""
from __future__ import annotations

import contextlib

import numpy as np

from ... import distributed as dist
from ...autograd.grad_mode import is_grad_enabled
from ...tensor import Tensor
from ..modules.module import Module
from ._reducer import FIRST_BUCKET_BYTES, Reducer


def broadcast_coalesced(tensors, src=0):
    """Copy rank ``src``'s values into ``tensors`` on every rank, one broadcast per dtype."""
    by_dtype = {}
    for t in tensors:
        by_dtype.setdefault(t._array.dtype, []).append(t)
    for group in by_dtype.values():
        flat = np.concatenate([t._array.reshape(-1) for t in group]) if group else None
        dist.broadcast(Tensor._wrap(flat), src=src)
        start = 0
        for t in group:
            n = t._array.size
            np.copyto(t._array, flat[start:start + n].reshape(t._array.shape))
            t._bump_version()
            start += n


def _output_tensors(obj):
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _output_tensors(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _output_tensors(x)


def _reachable_leaves(outputs):
    """ids of the leaf tensors whose gradients the outputs' graph will produce."""
    seen, leaves = set(), set()
    stack = [t.grad_fn if t.grad_fn is not None else t._accum for t in _output_tensors(outputs)
             if t.requires_grad]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:
            leaves.add(id(variable))
        stack.extend(nxt for nxt, _ in getattr(node, "next_functions", ()))
    return leaves


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over the default process group.

    At wrap time rank 0's parameters and buffers are copied to every rank. Each backward
    averages the gradients of the parameters that require grad: they are grouped in buckets
    of about ``bucket_cap_mb`` MiB (last parameters first), and a bucket's non-blocking
    all-reduce starts as soon as its gradients are accumulated, overlapping the rest of the
    backward pass; ``backward()`` returns once all buckets are reduced. Under ``no_sync()``
    gradients only accumulate locally. With ``broadcast_buffers`` (default) rank 0's buffers
    (BatchNorm running statistics) are copied to all ranks at the start of each forward."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, **kwargs):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel expects an nn.Module, got "
                            f"{type(module).__name__}")
        if device_ids not in (None, [], ["cpu"]) or output_device not in (None, "cpu"):
            raise ValueError("DistributedDataParallel device_ids and output_device must be "
                             "None for CPU modules")
        if dim != 0:
            raise ValueError("DistributedDataParallel splits nothing itself; dim must be 0")
        dist.get_world_size(process_group)   # raises unless the process group is initialised
        trainable = [p for p in module.parameters() if p.requires_grad]
        if not trainable:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        cap = 25 if bucket_cap_mb is None else bucket_cap_mb
        if cap <= 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        broadcast_coalesced(list(module.parameters()) + list(module.buffers()))
        self._trainable = trainable
        cap_bytes = int(cap * 1024 * 1024)
        # as PyTorch: a small first bucket (communication starts early) unless a cap is given
        first_cap = FIRST_BUCKET_BYTES if bucket_cap_mb is None else cap_bytes
        self._reducer = Reducer(trainable, cap_bytes, first_cap, find_unused_parameters)
        self._grad_hooks = [p.register_post_accumulate_grad_hook(self._hook_for(i))
                       for i, p in enumerate(trainable)]

    def _hook_for(self, index):
        reducer = self._reducer

        def hook(param):
            reducer.mark_ready(index)
        return hook

    @property
    def bucket_bytes(self) -> list[int]:
        """Bytes of each gradient bucket (their sum is all-reduced at every synced step)."""
        return self._reducer.bucket_bytes

    def forward(self, *inputs, **kwargs):
        sync = is_grad_enabled() and self.require_backward_grad_sync
        if self.broadcast_buffers and self.require_forward_param_sync:
            buffers = list(self.module.buffers())
            if buffers:
                broadcast_coalesced(buffers)
        if sync:
            self._reducer.check_prior_reduction_finished()
        output = self.module(*inputs, **kwargs)
        if sync:
            unused = ()
            if self.find_unused_parameters:
                reached = _reachable_leaves(output)
                unused = [i for i, p in enumerate(self._trainable) if id(p) not in reached]
            self._reducer.prepare_for_backward(unused)
        self.require_forward_param_sync = sync
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward passes accumulate gradients locally without communication; the
        first synchronised backward after it averages the accumulated gradients."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous
