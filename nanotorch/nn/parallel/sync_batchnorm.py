"""``SyncBatchNorm``: batch norm whose training statistics are those of the whole global
batch (all ranks), so N ranks x B/N samples normalise as one process with B."""
from __future__ import annotations

import numpy as np

from ... import distributed as dist
from ...ops.sync_batch_norm import SyncBatchNorm as _SyncBatchNormOp
from ...tensor import Tensor
from .._functional.normalization import _update_running
from ..modules.batchnorm import _BatchNorm


def _all_sum(arr):
    t = Tensor._wrap(np.ascontiguousarray(arr, dtype=np.float64))
    dist.all_reduce(t)
    return t._array


class SyncBatchNorm(_BatchNorm):
    """Batch norm over inputs (N, C, *) of any rank >= 2. In training, with an initialised
    process group of more than one rank, mean and variance are computed over every rank's
    batch; otherwise it behaves as BatchNorm. ``process_group`` must be None (the default
    group)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype)
        if process_group is not None:
            raise ValueError("SyncBatchNorm: only the default process group (None) exists")
        self.process_group = None

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input):
        distributed = (self.training and dist.is_initialized()
                       and dist.get_world_size() > 1)
        if not distributed:
            return super().forward(input)
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        track = self.track_running_stats and self.num_batches_tracked is not None
        if track:
            self.num_batches_tracked._array[...] += 1
            self.num_batches_tracked._bump_version()
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked._array)
        stats = []
        out = _SyncBatchNormOp.apply(input, self.weight, self.bias, eps=float(self.eps),
                                     stats=stats, all_sum=_all_sum)
        mean, var, count = stats
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"{count} over all ranks")
        if self.track_running_stats:
            _update_running(self.running_mean, self.running_var, (mean, var), count, factor)
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm layer replaced by a SyncBatchNorm sharing its
        parameters and buffers (the module itself when it is a BatchNorm)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.train(module.training)
            return out
        for name, child in list(module.named_children()):
            converted = cls.convert_sync_batchnorm(child, process_group)
            if converted is not child:
                setattr(module, name, converted)
        return module
