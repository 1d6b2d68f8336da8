"""Dropout: elementwise (``dropout``) and whole-channel (``dropout1d/2d/3d``); the op and
its mask drawing (``keep_mask``) are in ``ops/dropout.py``."""
from __future__ import annotations

import warnings

from ...ops.dropout import Dropout, keep_mask


def _drop(input, p, training, inplace, mask_shape):
    """``input`` times a keep-mask of ``mask_shape`` (broadcast against it), in training."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if not input.is_floating_point():
        raise RuntimeError(f"dropout(): expected a floating point input, got {input.dtype}")
    mask = keep_mask(mask_shape, p, input._array.dtype)
    if inplace:
        return input._apply_inplace(lambda s: Dropout.apply(s, mask=mask))
    return Dropout.apply(input, mask=mask)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``
    (training only; otherwise ``input`` is returned as is)."""
    return _drop(input, p, training, inplace, input.shape)


def _feature_dropout(input, p, training, inplace, batched):
    """Drop whole channels: one mask value per (sample, channel)."""
    lead = 2 if batched else 1
    return _drop(input, p, training, inplace,
                 tuple(input.shape[:lead]) + (1,) * (input.ndim - lead))


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Channel dropout for ``(N, C, L)`` or unbatched ``(C, L)`` input."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           "input of shape {}.".format(list(input.shape)))
    return _feature_dropout(input, p, training, inplace, batched=input.ndim == 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Channel dropout for ``(N, C, H, W)`` input. A 3-D input is taken as ``(N, C, L)``
    (PyTorch's historical behaviour), with a warning."""
    if input.ndim < 2:
        raise RuntimeError(f"dropout2d: expected an input with a channel dimension, got shape "
                           f"{list(input.shape)}")
    if input.ndim == 3:
        warnings.warn("dropout2d received a 3-D input: it is treated as (N, C, L) and whole "
                      "channels are dropped per sample; use dropout1d for that, or a 4-D "
                      "(N, C, H, W) input.", stacklevel=2)
    elif input.ndim != 4:
        warnings.warn(f"dropout2d expects a 4-D (N, C, H, W) input, got {input.ndim}-D; whole "
                      "channels along dim 1 are dropped.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, batched=True)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Channel dropout for ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)`` input."""
    if input.ndim < 2:
        raise RuntimeError(f"dropout3d: expected an input with a channel dimension, got shape "
                           f"{list(input.shape)}")
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d expects a 4-D or 5-D input, got {input.ndim}-D; whole "
                      "channels along dim 1 are dropped.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, batched=input.ndim != 4)
