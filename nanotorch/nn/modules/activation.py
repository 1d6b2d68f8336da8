"""Activation layers: thin modules over ``nn.functional`` with PyTorch's arguments and
reprs."""
from __future__ import annotations

from ... import creation
from .. import init
from .._functional import activation as A
from .._functional import attention
from ..parameter import Parameter
from .linear import Linear
from .module import Module


class _Inplace(Module):
    """An activation whose only argument is ``inplace``."""

    _fn = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self)._fn(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class _Plain(Module):
    """An activation without arguments."""

    _fn = None

    def forward(self, input):
        return type(self)._fn(input)


class _WithArgs(Module):
    """An activation computing ``_fn(input, *attributes named in _args)``; its repr lists
    them as ``name=value`` (``inplace`` only when True)."""

    _fn = None
    _args = ()

    def forward(self, input):
        return type(self)._fn(input, *(getattr(self, name) for name in self._args))

    def extra_repr(self):
        shown = [f"{name}={getattr(self, name)}" for name in self._args if name != "inplace"]
        if getattr(self, "inplace", False):
            shown.append("inplace=True")
        return ", ".join(shown)


class ReLU(_Inplace):
    """max(x, 0)."""
    _fn = A.relu


class ReLU6(_Inplace):
    """min(max(x, 0), 6)."""
    _fn = A.relu6


class SiLU(_Inplace):
    """x * sigmoid(x)."""
    _fn = A.silu


class Hardswish(_Inplace):
    """x * relu6(x + 3) / 6."""
    _fn = A.hardswish

    def extra_repr(self):  # PyTorch does not show inplace here
        return ""


class Hardsigmoid(_Inplace):
    """relu6(x + 3) / 6."""
    _fn = A.hardsigmoid

    def extra_repr(self):
        return ""


class Mish(_Inplace):
    """x * tanh(softplus(x))."""
    _fn = A.mish


class SELU(_Inplace):
    """Scaled ELU with the self-normalising constants."""
    _fn = A.selu


class Sigmoid(_Plain):
    _fn = A.sigmoid


class Tanh(_Plain):
    _fn = A.tanh


class LogSigmoid(_Plain):
    _fn = A.logsigmoid


class Softsign(_Plain):
    _fn = A.softsign


class Tanhshrink(_Plain):
    _fn = A.tanhshrink


class LeakyReLU(_WithArgs):
    """x where positive, ``negative_slope * x`` elsewhere."""

    _fn = A.leaky_relu
    _args = ("negative_slope", "inplace")

    def __init__(self, negative_slope=1e-2, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace


class GELU(Module):
    """Gaussian error linear unit; ``approximate='tanh'`` for the tanh form."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return A.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Hardtanh(_WithArgs):
    """Clamp to [min_val, max_val]."""

    _fn = A.hardtanh
    _args = ("min_val", "max_val", "inplace")

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace


class ELU(_WithArgs):
    """x where positive, ``alpha * (exp(x) - 1)`` elsewhere."""

    _fn = A.elu
    _args = ("alpha", "inplace")

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace


class CELU(ELU):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""

    _fn = A.celu


class Softplus(_WithArgs):
    """log(1 + exp(beta * x)) / beta, linear above ``threshold``."""

    _fn = A.softplus
    _args = ("beta", "threshold")

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold


class Threshold(_WithArgs):
    """x where ``x > threshold``, else ``value``."""

    _fn = A.threshold
    _args = ("threshold", "value", "inplace")

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace


class PReLU(Module):
    """Leaky ReLU with a learnable slope (one, or one per channel), initialised to
    ``init``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(creation.empty(num_parameters, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        from .. import init as _init
        _init.constant_(self.weight, self.init)

    def forward(self, input):
        return A.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Softshrink(_WithArgs):
    _fn = A.softshrink
    _args = ("lambd",)

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def extra_repr(self):
        return str(self.lambd)


class Hardshrink(Softshrink):
    _fn = A.hardshrink


class GLU(_WithArgs):
    """First half of the input along ``dim`` times sigmoid of the second half."""

    _fn = A.glu
    _args = ("dim",)

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim


class _SoftmaxBase(Module):
    _fn = None

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "dim" not in self.__dict__:
            self.dim = None

    def forward(self, input):
        return type(self)._fn(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    """exp(x) / sum(exp(x)) along ``dim``."""
    _fn = A.softmax


class LogSoftmax(_SoftmaxBase):
    """log(softmax(x)) along ``dim``, computed stably."""
    _fn = A.log_softmax


class Softmin(_SoftmaxBase):
    """softmax(-x) along ``dim``."""
    _fn = A.softmin


class NonDynamicallyQuantizableLinear(Linear):
    """The output projection of MultiheadAttention (PyTorch's class name, for its repr)."""


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of ``embed_dim // num_heads`` features each, with
    PyTorch's parameters (``in_proj_weight`` or ``q/k/v_proj_weight`` when ``kdim``/``vdim``
    differ, ``in_proj_bias``, ``bias_k``/``bias_v``, ``out_proj``) and initialisation."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(creation.empty((3 * embed_dim, embed_dim), **kw))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(creation.empty((embed_dim, embed_dim), **kw))
            self.k_proj_weight = Parameter(creation.empty((embed_dim, self.kdim), **kw))
            self.v_proj_weight = Parameter(creation.empty((embed_dim, self.vdim), **kw))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(creation.empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(creation.empty((1, 1, embed_dim), **kw))
            self.bias_v = Parameter(creation.empty((1, 1, embed_dim), **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """``(output, weights)``; weights are ``None`` unless ``need_weights``, averaged over
        the heads unless ``average_attn_weights=False``."""
        batched = query.ndim == 3
        if self.batch_first and batched:
            # one transpose per distinct input, so self-attention stays recognisable
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = query.transpose(1, 0), key.transpose(1, 0)
                    value = key
            else:
                query, key, value = (t.transpose(1, 0) for t in (query, key, value))
        out, weights = attention.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        if self.batch_first and batched:
            out = out.transpose(1, 0)
        return out, weights
