"""Shared test helpers: torch <-> nanotorch conversion and finite-difference gradchecks.

``gradcheck`` compares the vector-Jacobian product computed by autograd with central
differences of ``<v, fn(x)>`` for a random upstream ``v``, in float64. Use small inputs:
it evaluates ``fn`` twice per input element."""
from __future__ import annotations

import gzip
import struct

import numpy as np

import nanotorch as nt


def to_torch(t, requires_grad=None):
    """A torch tensor with a copy of ``t``'s data (and dtype); ``requires_grad`` defaults
    to ``t.requires_grad``."""
    import torch

    out = torch.from_numpy(np.array(t.detach().numpy(), copy=True))
    rg = t.requires_grad if requires_grad is None else requires_grad
    return out.requires_grad_(True) if rg else out


def from_torch(t, requires_grad=None):
    """A nanotorch tensor with a copy of torch tensor ``t``'s data (and dtype)."""
    out = nt.tensor(t.detach().cpu().numpy().copy())
    rg = t.requires_grad if requires_grad is None else requires_grad
    return out.requires_grad_(True) if rg else out


def _outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, (tuple, list)) else (out,)


def _weighted_sum(outs, vs):
    """``sum(v * out)`` in float64 over the outputs that take part (as a Python float)."""
    total = 0.0
    for o, v in zip(outs, vs):
        if v is not None:
            total += float(np.sum(o.detach().numpy().astype(np.float64) * v))
    return total


def gradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5, seed=0):
    """Check autograd's gradients of ``fn(*inputs)`` against central finite differences.

    ``inputs`` are nanotorch tensors; the float64 ones with ``requires_grad`` are checked
    (others are passed through). ``fn`` may return a tensor or a tuple of tensors; every
    floating output that requires grad gets a random upstream gradient. Raises
    AssertionError naming the input and the worst element on a mismatch."""
    rng = np.random.default_rng(seed)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, nt.Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype is not nt.float64:
            raise TypeError(f"gradcheck: input {i} must be float64, got {inputs[i].dtype}")
    outs = _outputs(fn, inputs)
    diff_outs = [o for o in outs if isinstance(o, nt.Tensor) and o.requires_grad]
    if not diff_outs:
        raise AssertionError("gradcheck: no output requires grad")
    vs = [rng.standard_normal(o.shape) if (isinstance(o, nt.Tensor) and o.requires_grad) else None
          for o in outs]
    analytic = nt.autograd.grad(
        diff_outs, [inputs[i] for i in checked],
        grad_outputs=[nt.tensor(v, dtype=o.dtype) for o, v in zip(outs, vs) if v is not None],
        allow_unused=True)
    for i, ga in zip(checked, analytic):
        x = inputs[i]
        arr = x.detach().numpy()  # shares memory: perturb in place
        numeric = np.zeros(arr.shape)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            plus = _weighted_sum(_outputs(fn, inputs), vs)
            arr[idx] = old - eps
            minus = _weighted_sum(_outputs(fn, inputs), vs)
            arr[idx] = old
            numeric[idx] = (plus - minus) / (2 * eps)
        got = np.zeros(arr.shape) if ga is None else ga.detach().numpy()
        if got.shape != numeric.shape:
            raise AssertionError(f"gradcheck: input {i}: gradient shape {got.shape} != input "
                                 f"shape {numeric.shape}")
        bad = ~np.isclose(got, numeric, atol=atol, rtol=rtol)
        if bad.any():
            k = np.unravel_index(np.argmax(np.abs(got - numeric) * bad), got.shape)
            raise AssertionError(f"gradcheck: input {i} (shape {arr.shape}): {int(bad.sum())} "
                                 f"mismatches; at {k} analytic {got[k]!r} vs numeric "
                                 f"{numeric[k]!r}")
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=1):
    """Check second derivatives: gradcheck of ``(x, v) -> d<v, fn(x)>/dx`` built with
    ``create_graph=True``, where the upstream gradients ``v`` are inputs too (so linear
    ops are checked for a differentiable backward as well)."""
    rng = np.random.default_rng(seed + 100)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, nt.Tensor) and x.requires_grad]
    outs = [o for o in _outputs(fn, inputs) if isinstance(o, nt.Tensor) and o.requires_grad]
    vs = [nt.tensor(rng.standard_normal(o.shape), dtype=nt.float64, requires_grad=True)
          for o in outs]
    n = len(inputs)

    def first_grads(*args):
        xs, v = args[:n], args[n:]
        os_ = [o for o in _outputs(fn, xs) if isinstance(o, nt.Tensor) and o.requires_grad]
        return tuple(nt.autograd.grad(os_, [xs[i] for i in checked], grad_outputs=list(v),
                                      create_graph=True, allow_unused=True,
                                      materialize_grads=True))

    return gradcheck(first_grads, tuple(inputs) + tuple(vs), eps=eps, atol=atol, rtol=rtol,
                     seed=seed)


def assert_same_tree(a, b, where="value"):
    """Bit-identical nested values (checkpoints): tensors by dtype, shape and bytes, numbers
    and strings exactly (NaN equals NaN), dicts by keys, lists in order."""
    if isinstance(a, nt.Tensor):
        assert isinstance(b, nt.Tensor), where
        assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape), where
        assert a.numpy().tobytes() == b.numpy().tobytes(), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (where, sorted(a), sorted(b))
        for k in a:
            assert_same_tree(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tree(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), where
    else:
        assert type(a) is type(b) and a == b, (where, a, b)


EPS32 = float(np.finfo(np.float32).eps)


def float32_atol(max_abs, n_terms, c=8.0):
    """Absolute tolerance for a float32 result accumulated from ``n_terms`` rounded terms of
    magnitude up to ``max_abs`` (measure it from the reference): ``c * eps32 * sqrt(n_terms)
    * max_abs``. Rounding errors of a long computation add like a random walk; ``c`` covers
    different summation orders (BLAS blocking, threads) on both sides."""
    return c * EPS32 * float(np.sqrt(n_terms)) * float(max_abs)


def network_terms(model, passes=2):
    """Rounded terms an output (``passes=1``) or a gradient (``passes=2``: forward and
    backward) of a network accumulates along its longest path: the number of weight layers
    (parameters with 2+ dimensions) times the largest fan-in, per pass. ``model`` is a
    module (nanotorch or torch) or a state dict."""
    tensors = model.values() if isinstance(model, dict) else model.parameters()
    fan_ins = [int(np.prod(tuple(t.shape)[1:])) for t in tensors if len(t.shape) >= 2]
    return passes * len(fan_ins) * max(fan_ins)


# IDX files (the MNIST format) ------------------------------------------------------------
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
              0x0E: ">f8"}


def idx_bytes(arr, type_code=0x08):
    """``arr`` as an IDX file: magic (``type_code``, ndim), big-endian sizes and data."""
    arr = np.asarray(arr)
    header = bytes([0, 0, type_code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(_IDX_TYPES[type_code]).tobytes()


def write_file(path, payload, gz):
    """Write ``payload`` to ``path`` (gzipped to ``path.gz`` when ``gz``); the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


def assert_owned(arr, where=None):
    """Writable, C-contiguous, backed by memory of its own: an ndarray or the bytearray the
    safetensors package copies a tensor into (never a file mapping or immutable bytes)."""
    assert isinstance(arr, np.ndarray), where
    assert arr.flags.writeable and arr.flags.c_contiguous, where
    owner = arr
    while isinstance(owner, np.ndarray) and owner.base is not None:
        owner = owner.base
    if isinstance(owner, memoryview):
        owner = owner.obj
    assert isinstance(owner, (np.ndarray, bytearray)) and not isinstance(owner, np.memmap), \
        (where, owner)
