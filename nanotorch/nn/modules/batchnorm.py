"""``BatchNorm1d`` and ``BatchNorm2d``."""
from __future__ import annotations

import os
import warnings

from ... import creation
from ..._dtype import int64
from .._functional.normalization import batch_norm
from ._params import register_weight_bias, reset_affine
from .module import Module

# Opt-in (utils.finetune.warn_frozen_batchnorm or NANOTORCH_WARN_FROZEN_BN=1): PyTorch gives
# no such warning, and drop-in scripts that freeze with requires_grad=False must stay quiet.
WARN_FROZEN_STATS = [os.environ.get("NANOTORCH_WARN_FROZEN_BN", "") not in ("", "0")]


class _BatchNorm(Module):
    """Per-channel normalisation with batch statistics in training and running
    statistics (when tracked) in evaluation. ``momentum=None`` makes the running
    statistics a cumulative average."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        kw = {"dtype": dtype, "device": device}
        register_weight_bias(self, num_features, num_features, affine, bias, **kw)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, **kw))
            self.register_buffer("running_var", creation.ones(num_features, **kw))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._array[...] = 0
            self.running_var._array[...] = 1
            self.num_batches_tracked._array[...] = 0
            for t in (self.running_mean, self.running_var, self.num_batches_tracked):
                t._bump_version()

    def reset_parameters(self):
        self.reset_running_stats()
        reset_affine(self)

    def _check_input_dim(self, input):
        raise NotImplementedError

    _warned_frozen_stats = False  # set per instance after the first warning

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if (self.training and self.track_running_stats and WARN_FROZEN_STATS[0]
                and not self._warned_frozen_stats):
            self._warn_if_frozen()
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._array[...] += 1
            self.num_batches_tracked._bump_version()
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked._array)
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if track else None,
                          self.running_var if track else None, self.weight, self.bias,
                          use_batch, factor, self.eps)

    def _warn_if_frozen(self):
        """Warn once when training mode updates the running statistics of a layer whose
        parameters are all frozen (``requires_grad=False``) but which ``utils.freeze`` did
        not mark: the frozen layer's behaviour still changes as it trains. Only when
        enabled (``WARN_FROZEN_STATS``)."""
        params = [p for p in (self.weight, self.bias) if p is not None]
        if params and not any(p.requires_grad for p in params):
            self._warned_frozen_stats = True
            warnings.warn(f"{type(self).__name__}({self.num_features}) has frozen parameters "
                          "(requires_grad=False) but is in training mode, so its running "
                          "statistics change; use nanotorch.utils.freeze(module) (keeps it in "
                          "eval mode through model.train()) or call .eval() on it",
                          UserWarning, stacklevel=3)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        key = prefix + "num_batches_tracked"
        if self.num_batches_tracked is not None and key not in state_dict:
            # checkpoints from before the counter existed: start it at 0
            state_dict = dict(state_dict)
            state_dict[key] = creation.tensor(0, dtype=int64)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs."""

    def _check_input_dim(self, input):
        if input.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs."""

    def _check_input_dim(self, input):
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")
