"""Recurrent layers as PyTorch's: ``RNN`` (tanh/relu), ``LSTM`` (with ``proj_size``),
``GRU`` and the cells ``RNNCell``, ``LSTMCell``, ``GRUCell``: same parameters, names, shapes,
initialisation draws, arguments and messages.

Each layer and direction projects the whole input sequence with one GEMM up front; the
time loop then adds the hidden projection and applies the gates (``ops/recurrent.py``)."""
from __future__ import annotations

import math
import numbers
import warnings

from ... import creation
from ... import functions as _T
from ...ops import recurrent as R
from .. import init
from .._functional.dropout import dropout as _dropout
from .._functional.linear import linear
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from ._repr import non_defaults
from .module import Module

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _dtype_str(d):
    return f"torch.{d.name}" if hasattr(d, "name") else str(d)


def _gate_step(mode, gx, h, c, w_hh, b_hh, w_hr):
    """One time step from the input's share of the gates ``gx`` (biases included, except
    GRU's hidden bias); returns ``(h, c)`` (``c`` is None unless LSTM)."""
    if mode == "LSTM":
        hc = R.LSTMGates.apply(gx, linear(h, w_hh), c)
        hidden = c.shape[-1]
        h, c = hc.narrow(-1, 0, hidden), hc.narrow(-1, hidden, hidden)
        if w_hr is not None:
            h = linear(h, w_hr)
        return h, c
    if mode == "GRU":
        return R.GRUGates.apply(gx, linear(h, w_hh, b_hh), h), None
    pre = gx + linear(h, w_hh)
    return (_T.tanh(pre) if mode == "RNN_TANH" else _T.relu(pre)), None


def _input_gates(mode, x, w_ih, b_ih, b_hh):
    """The input's share of every step's gates in one GEMM: ``x @ w_ih.T + b_ih`` (+ ``b_hh``
    for RNN and LSTM, where it is added outside any gate product)."""
    gx = linear(x, w_ih, b_ih)
    if b_hh is not None and mode != "GRU":
        gx = gx + b_hh
    return gx


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrence shared by RNN, LSTM and GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: "
                            f"{type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for base, shape in shapes:
                    name = f"{base}_l{layer}{suffix}"
                    setattr(self, name, Parameter(creation.empty(shape, **kw)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    def flatten_parameters(self):
        """Accepted for PyTorch compatibility (cuDNN only); does nothing."""

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + non_defaults(self, (
            ("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False),
            ("dropout", 0), ("bidirectional", False)))

    # forward ---------------------------------------------------------------------------
    def _check_input(self, input, expected_dim=None):
        name = type(self).__name__
        if expected_dim is not None and input.ndim != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.ndim}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D tensor "
                             "instead")
        wdt = self.weight_ih_l0.dtype
        if input.dtype is not wdt:
            raise ValueError(f"{name} input dtype ({_dtype_str(input.dtype)}) does not match "
                             f"weight dtype ({_dtype_str(wdt)}). Convert input: "
                             f"input.to({_dtype_str(wdt)}), or convert model: "
                             f"model.to({_dtype_str(input.dtype)})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def _hidden(self, hx, batched, batch, size, label="hidden"):
        """The initial state, zeros when ``hx`` is None, as (layers * directions, N, size)."""
        layers = self.num_layers * (2 if self.bidirectional else 1)
        expected = (layers, batch, size)
        if hx is None:
            return creation.zeros(expected, dtype=self.weight_ih_l0.dtype)
        if batched and hx.ndim != 3:
            raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got "
                               f"{hx.ndim}-D tensor")
        if not batched:
            if hx.ndim != 2:
                raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got "
                                   f"{hx.ndim}-D tensor")
            hx = hx.unsqueeze(1)
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected {label} size {expected}, got {list(hx.shape)}")
        return hx

    def _weights(self, layer, direction):
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of one layer and direction (None where absent)."""
        suffix = "_reverse" if direction else ""
        return tuple(getattr(self, f"{base}_l{layer}{suffix}", None) for base in
                     ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))

    def _run_direction(self, x, h0, c0, weights, reverse, batch_sizes):
        """One layer in one direction: (outputs, h_last, c_last). ``x`` is (L, N, features),
        or with ``batch_sizes`` the data of a PackedSequence, where step t holds the first
        ``batch_sizes[t]`` sequences (the batch is sorted by decreasing length)."""
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        gx = _input_gates(self.mode, x, w_ih, b_ih, b_hh)
        steps = gx.unbind(0) if batch_sizes is None else gx.split(batch_sizes)
        seq = [None] * len(steps)
        if not reverse:
            h, c, finished = h0, c0, []
            for t, g in enumerate(steps):
                if g.shape[0] < h.shape[0]:   # the shortest sequences ended: keep their state
                    n = g.shape[0]
                    finished.append((h[n:], None if c is None else c[n:]))
                    h, c = h[:n], None if c is None else c[:n]
                h, c = _gate_step(self.mode, g, h, c, w_hh, b_hh, w_hr)
                seq[t] = h
            if finished:
                h = _T.cat([h] + [f[0] for f in reversed(finished)])
                c = None if c is None else _T.cat([c] + [f[1] for f in reversed(finished)])
        else:
            h, c = h0[:0], None if c0 is None else c0[:0]
            for t in range(len(steps) - 1, -1, -1):
                g = steps[t]
                if g.shape[0] > h.shape[0]:   # longer sequences start: from their initial state
                    m, n = h.shape[0], g.shape[0]
                    h = _T.cat([h, h0[m:n]]) if m else h0[:n]
                    if c is not None:
                        c = _T.cat([c, c0[m:n]]) if m else c0[:n]
                h, c = _gate_step(self.mode, g, h, c, w_hh, b_hh, w_hr)
                seq[t] = h
        if not seq:
            return x.new_zeros((0, *h0.shape)), h0, c0
        return (_T.stack(seq) if batch_sizes is None else _T.cat(seq)), h, c

    def _run(self, input, h0, c0, batch_sizes=None):
        """All layers and directions; returns output, h_n, c_n."""
        directions = 2 if self.bidirectional else 1
        x = input
        h_last, c_last = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                idx = layer * directions + direction
                out, h, c = self._run_direction(x, h0[idx], None if c0 is None else c0[idx],
                                                self._weights(layer, direction), direction,
                                                batch_sizes)
                outs.append(out)
                h_last.append(h)
                c_last.append(c)
            x = outs[0] if directions == 1 else _T.cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = _dropout(x, self.dropout, training=True)
        h_n = _T.stack(h_last)
        return x, h_n, (_T.stack(c_last) if c0 is not None else None)

    def _forward(self, input, hx, cx):
        packed = isinstance(input, PackedSequence)
        if packed:
            input, batch_sizes, sorted_indices, unsorted_indices = input
            batch_sizes_list = [int(b) for b in batch_sizes.tolist()]
            self._check_input(input, expected_dim=2)
            batch, batched = batch_sizes_list[0], True
            if sorted_indices is not None:
                hx = None if hx is None else hx.index_select(1, sorted_indices)
                cx = None if cx is None else cx.index_select(1, sorted_indices)
        else:
            self._check_input(input)
            batch_sizes_list = None
            batched = input.ndim == 3
            if not batched:
                input = input.unsqueeze(1)
            elif self.batch_first:
                input = input.transpose(0, 1)
            batch = input.shape[1]
        out_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        label = "hidden[0]" if self.mode == "LSTM" else "hidden"
        h0 = self._hidden(hx, batched, batch, out_size, label)
        c0 = (self._hidden(cx, batched, batch, self.hidden_size, "hidden[1]")
              if self.mode == "LSTM" else None)
        out, h_n, c_n = self._run(input, h0, c0, batch_sizes_list)
        if packed:
            out = PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices)
            if unsorted_indices is not None:
                h_n = h_n.index_select(1, unsorted_indices)
                c_n = None if c_n is None else c_n.index_select(1, unsorted_indices)
        elif not batched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, h_n, c_n


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None,
                 dtype=None):
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        """``(output, h_n)``."""
        out, h_n, _ = self._forward(input, hx, None)
        return out, h_n


class LSTM(RNNBase):
    """Long short-term memory; with ``proj_size`` the hidden state is projected by
    ``weight_hr`` (LSTMP)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        """``(output, (h_n, c_n))``."""
        h0 = c0 = None
        if hx is not None:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise RuntimeError("LSTM expects hx to be a tuple (h_0, c_0)")
            h0, c0 = hx
        out, h_n, c_n = self._forward(input, h0, c0)
        return out, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n in PyTorch's order)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        """``(output, h_n)``."""
        out, h_n, _ = self._forward(input, hx, None)
        return out, h_n


# Cells ---------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """Parameters ``weight_ih``, ``weight_hh`` and (with ``bias``) ``bias_ih``, ``bias_hh``
    of ``num_chunks`` gates, initialised U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(creation.empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(creation.empty((num_chunks * hidden_size, hidden_size),
                                                  **kw))
        if bias:
            self.bias_ih = Parameter(creation.empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(creation.empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}" + non_defaults(self, (("bias", True),))
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, states):
        """Unbatched inputs get a batch dim; missing states are zeros; PyTorch's checks."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D "
                             "instead")
        for s in states:
            if s is not None and s.ndim not in (1, 2):
                raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {s.ndim}D "
                                 "instead")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        out = []
        for i, s in enumerate(states):
            if s is None:
                s = creation.zeros((input.shape[0], self.hidden_size), dtype=input.dtype)
            elif not batched:
                s = s.unsqueeze(0)
            if input.shape[0] != s.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{i} "
                                   f"batch size {s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {s.shape[1]}, "
                                   f"expected {self.hidden_size}")
            out.append(s)
        return input, out, batched


class RNNCell(RNNCellBase):
    """One Elman step: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, (h,), batched = self._prepare(input, (hx,))
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        gx = _input_gates(mode, input, self.weight_ih, self.bias_ih, self.bias_hh)
        h, _ = _gate_step(mode, gx, h, None, self.weight_hh, self.bias_hh, None)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        h0, c0 = (None, None) if hx is None else hx
        input, (h, c), batched = self._prepare(input, (h0, c0))
        gx = _input_gates("LSTM", input, self.weight_ih, self.bias_ih, self.bias_hh)
        h, c = _gate_step("LSTM", gx, h, c, self.weight_hh, self.bias_hh, None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        input, (h,), batched = self._prepare(input, (hx,))
        gx = _input_gates("GRU", input, self.weight_ih, self.bias_ih, self.bias_hh)
        h, _ = _gate_step("GRU", gx, h, None, self.weight_hh, self.bias_hh, None)
        return h if batched else h.squeeze(0)


