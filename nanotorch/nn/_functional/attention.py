"""Attention: ``F.scaled_dot_product_attention`` and ``F.multi_head_attention_forward``,
composed from differentiable ops (matmul, the fused softmax, masked_fill, dropout), with
PyTorch's argument rules and messages."""
from __future__ import annotations

import math
import warnings

import numpy as np

from ... import _dtype, creation
from ... import functions as _T
from ._checks import check_float, check_tensor
from .dropout import dropout as _dropout
from .linear import linear


def _repeat_heads(t, times):
    """(..., H, S, E) -> (..., H * times, S, E), each head repeated ``times`` in a row
    (``repeat_interleave`` on dim -3)."""
    if times == 1:
        return t
    shape = t.shape
    t = t.unsqueeze(-3).expand(*shape[:-2], times, *shape[-2:])
    return t.reshape(*shape[:-3], shape[-3] * times, *shape[-2:])


def _safe_softmax(scores):
    """Softmax over the last dim; a row masked entirely (all -inf) gives zeros, as PyTorch's
    attention does, instead of NaN (with zero gradient)."""
    dead = np.isneginf(scores._array).all(axis=-1, keepdims=True)
    if not dead.any():
        return _T.softmax(scores, -1)
    dead = creation.from_numpy(dead)
    return _T.softmax(scores.masked_fill(dead, 0.0), -1).masked_fill(dead, 0.0)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """``softmax(query @ key^T * scale + mask) @ value`` over the last two dims.

    ``attn_mask``: bool (True = may attend) or float (added to the scores), broadcast to
    (..., L, S); ``is_causal`` masks the upper triangle; ``enable_gqa`` repeats the key and
    value heads (dim -3) to the number of query heads."""
    name = "scaled_dot_product_attention"
    for t, arg in ((query, "query"), (key, "key"), (value, "value")):
        check_float(t, arg, name)
        if t.ndim < 2:
            raise RuntimeError(f"{name}(): expected {arg} to have at least 2 dimensions, got "
                               f"{t.ndim}")
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {query.dtype} key.dtype: {key.dtype} and value.dtype: "
                           f"{value.dtype} instead.")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"{name}(): query and key must have the same last dimension, got "
                           f"{query.shape[-1]} and {key.shape[-1]}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{name}(): key and value must have the same sequence length, got "
                           f"{key.shape[-2]} and {value.shape[-2]}")
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk or hq % value.shape[-3]:
            raise RuntimeError(f"{name}(): number of heads in key/value must divide number of "
                               f"heads in query")
        key = _repeat_heads(key, hq // hk)
        value = _repeat_heads(value, hq // value.shape[-3])
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = (query * scale).matmul(key.transpose(-2, -1))
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not "
                               "be set when is_causal=True")
        attn_mask = creation.from_numpy(np.tril(np.ones((L, S), dtype=bool)))
    if attn_mask is not None:
        check_tensor(attn_mask, "attn_mask", name)
        if attn_mask.dtype is _dtype.bool_:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        elif attn_mask.is_floating_point():
            scores = scores + attn_mask
        else:
            raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match "
                               f"query dtype, but got attn_mask.dtype: {attn_mask.dtype} and "
                               f"query.dtype: {query.dtype} instead.")
    # only an explicit mask can leave a query nothing to attend to
    weights = _T.softmax(scores, -1) if attn_mask is None or is_causal else _safe_softmax(scores)
    if dropout_p > 0.0:
        weights = _dropout(weights, dropout_p, training=True)
    return weights.matmul(value)


# multi_head_attention_forward --------------------------------------------------------------

def _canonical_mask(mask, name, other, other_name, dtype):
    """A bool mask (True = masked out) becomes a float mask with -inf there; float masks pass
    through."""
    if mask is None:
        return None
    check_tensor(mask, name, "multi_head_attention_forward")
    if mask.dtype is not _dtype.bool_ and not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if other is not None and (other.dtype is _dtype.bool_) != (mask.dtype is _dtype.bool_):
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use "
                      "same type for both instead.", stacklevel=3)
    if mask.dtype is _dtype.bool_:
        return creation.zeros(mask.shape, dtype=dtype).masked_fill(mask, float("-inf"))
    return mask


def _pad_last(mask):
    """One more column of zeros at the end of the last dim."""
    if mask is None:
        return None
    return _T.cat([mask, creation.zeros((*mask.shape[:-1], 1), dtype=mask.dtype)], -1)


def _in_projection(query, key, value, num_heads, w, b, q_w, k_w, v_w, separate):
    """The q, k, v projections: one packed GEMM for self-attention, else one per input."""
    E = query.shape[-1]
    if not separate:
        if query is key and key is value:
            return linear(query, w, b).chunk(3, -1)
        w_q, w_k, w_v = w.chunk(3)
    else:
        w_q, w_k, w_v = q_w, k_w, v_w
    b_q = b_k = b_v = None
    if b is not None:
        b_q, b_k, b_v = b.split(E)
    if not separate and key is value:
        k, v = linear(key, w[E:], None if b is None else b[E:]).chunk(2, -1)
        return linear(query, w_q, b_q), k, v
    return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)


def _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads):
    """Whether the inputs are batched (3-D) or one sequence (2-D), with PyTorch's checks."""
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError(f"For batched (3-D) `query`, expected `key` and `value` to be "
                                 f"3-D but found {key.ndim}-D and {value.ndim}-D tensors "
                                 "respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AssertionError(f"For batched (3-D) `query`, expected `key_padding_mask` to "
                                 f"be `None` or 2-D but found {key_padding_mask.ndim}-D tensor "
                                 "instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(f"For batched (3-D) `query`, expected `attn_mask` to be "
                                 f"`None`, 2-D or 3-D but found {attn_mask.ndim}-D tensor "
                                 "instead")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key` and `value` to "
                                 f"be 2-D but found {key.ndim}-D and {value.ndim}-D tensors "
                                 "respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key_padding_mask` to "
                                 f"be `None` or 1-D but found {key_padding_mask.ndim}-D tensor "
                                 "instead")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError(f"For unbatched (2-D) `query`, expected `attn_mask` to be "
                                     f"`None`, 2-D or 3-D but found {attn_mask.ndim}-D tensor "
                                     "instead")
            if attn_mask.ndim == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                         f"{tuple(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.ndim}-D query tensor")


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention on (L, N, E) query and (S, N, E) key/value (or unbatched
    (L, E)/(S, E)); returns ``(output, weights or None)`` as PyTorch's."""
    for t, arg in ((query, "query"), (key, "key"), (value, "value")):
        check_float(t, arg, "multi_head_attention_forward")
    batched = _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", attn_mask,
                                       "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None   # scaled_dot_product_attention builds the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype)
        is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not "
                                 f"match value's {tuple(value.shape[:2])}")
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                             f"{tuple(value.shape)}")
    q, k, v = _in_projection(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                             q_proj_weight, k_proj_weight, v_proj_weight,
                             use_separate_proj_weight)
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is "
                                   f"torch.Size({list(attn_mask.shape)}), but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
            raise RuntimeError(f"The shape of the 3D attn_mask is "
                               f"torch.Size({list(attn_mask.shape)}), but should be "
                               f"{(bsz * num_heads, tgt_len, src_len)}.")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key.")
        k = _T.cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = _T.cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)
    elif (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k and bias_v must both be given or both be None")
    # heads into the batch: (len, bsz, E) -> (bsz * heads, len, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = (k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_k is None
         else static_k)
    v = (v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_v is None
         else static_v)
    if add_zero_attn:
        zeros = creation.zeros((bsz * num_heads, 1, head_dim), dtype=q.dtype)
        k, v = _T.cat([k, zeros], 1), _T.cat([v, zeros], 1)
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but "
                                 f"got {tuple(key_padding_mask.shape)}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        kpm = kpm.reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if need_weights:
        scores = (q * math.sqrt(1.0 / head_dim)).bmm(k.transpose(1, 2))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = _T.softmax(scores, -1)
        if dropout_p > 0.0:
            weights = _dropout(weights, dropout_p, training=True)
        out = weights.bmm(v)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
    else:
        if attn_mask is not None:
            attn_mask = (attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else
                         attn_mask.reshape(bsz, num_heads, -1, src_len))
        q4 = q.reshape(bsz, num_heads, tgt_len, head_dim)
        k4 = k.reshape(bsz, num_heads, src_len, head_dim)
        v4 = v.reshape(bsz, num_heads, src_len, head_dim)
        out = scaled_dot_product_attention(q4, k4, v4, attn_mask, dropout_p, is_causal)
        out = out.reshape(bsz * num_heads, tgt_len, head_dim)
        weights = None
    out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    if not batched:
        out = out.squeeze(1)
        if weights is not None:
            weights = weights.squeeze(0)
    return out, weights
