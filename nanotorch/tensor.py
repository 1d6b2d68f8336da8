"""The user-facing Tensor: a NumPy array plus autograd state. Math lives in ``functions``
(attached here as methods); this module holds construction, autograd bookkeeping,
in-place machinery and Python protocols."""
from __future__ import annotations

import numpy as np

from . import _bfloat16, _dtype
from ._dtype import dtype as _DType
from .autograd.grad_mode import is_grad_enabled
from .autograd.node import AccumulateGrad, add_hook


class Size(tuple):
    """A tensor shape (``torch.Size``)."""

    def __repr__(self):
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, k):
        r = tuple.__getitem__(self, k)
        return Size(r) if isinstance(k, slice) else r

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))


_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip",
                 "ve", "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                 "privateuseone")


class device:
    """A device name, as ``torch.device``: any of PyTorch's device types can be named (scripts
    build ``device("cuda" if cuda.is_available() else "cpu")``), but only the CPU exists;
    ``_require_cpu`` raises when data would be put anywhere else."""

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        name, colon, idx = str(type).partition(":")
        if name not in _DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at "
                               f"start of device string: {type}")
        if colon:
            if not idx.isdigit() or index is not None:
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type, self.index = name, index

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        try:
            other = device(other)
        except (RuntimeError, TypeError):
            return False
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


def _require_cpu(dev):
    """Raise unless ``dev`` (a device or its name) is the CPU, where all data lives."""
    if device(dev).type != "cpu":
        raise RuntimeError(f"nanotorch runs on the CPU only; device '{dev}' is not available")


CPU = device("cpu")


def _infer_array(data, dtype=None):
    """NumPy array for ``data`` with PyTorch's dtype inference (float -> default float,
    int -> int64, bool -> bool), copying."""
    if isinstance(data, Tensor):
        arr = data._array
        return _bfloat16.cast(arr, dtype.np if dtype else arr.dtype)
    if isinstance(data, np.ndarray):
        if dtype is None:
            dtype = _dtype.from_numpy_dtype(data.dtype)
        return _bfloat16.cast(data, dtype.np)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _nested_to_arrays(data)
    arr = np.array(data)
    if arr.dtype == object:
        raise TypeError(f"could not build a tensor from {type(data).__name__}: nested "
                        "sequences must be rectangular and hold only numbers")
    if dtype is None:
        kind = arr.dtype.kind
        if kind == "b":
            dtype = _dtype.bool_
        elif kind in "iu":
            dtype = (_dtype.int64 if not isinstance(data, np.generic)
                     else _dtype.from_numpy_dtype(arr.dtype))
        elif kind == "f":
            dtype = (_dtype.from_numpy_dtype(arr.dtype) if isinstance(data, np.generic)
                     else _dtype.get_default_dtype())
        else:
            raise TypeError(f"unsupported data type {arr.dtype} for a tensor")
    return _bfloat16.cast(arr, dtype.np, copy=False)


def _flat(seq):
    for x in seq:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _nested_to_arrays(seq):
    return [(_nested_to_arrays(x) if isinstance(x, (list, tuple)) else
             (x._array if isinstance(x, Tensor) else x)) for x in seq]


class Tensor:
    """A multi-dimensional array with autograd (PyTorch's ``torch.Tensor`` semantics)."""

    __slots__ = ("_array", "_version_box", "_requires_grad", "grad_fn", "_output_nr", "_grad",
                 "_accum", "_base", "_retains_grad", "__weakref__", "__dict__")
    __array_priority__ = 1000  # NumPy defers to our operators in mixed expressions

    def __init__(self, *args, dtype=None, requires_grad=False):
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            arr = _infer_array(args[0], _dtype.to_dtype(dtype) if dtype else
                               (_dtype.get_default_dtype()
                                if not isinstance(args[0], (Tensor, np.ndarray)) else None))
        else:
            d = _dtype.to_dtype(dtype) if dtype else _dtype.get_default_dtype()
            arr = np.empty(tuple(int(a) for a in args), dtype=d.np)
        self._init(arr)
        if requires_grad:
            self.requires_grad = True

    def _init(self, arr, version_box=None):
        self._array = arr
        self._version_box = version_box if version_box is not None else [0]
        self._requires_grad = False
        self.grad_fn = None
        self._output_nr = 0
        self._grad = None
        self._accum = None
        self._base = None
        self._retains_grad = False

    @classmethod
    def _wrap(cls, arr, version_box=None):
        """A tensor around ``arr`` (no copy, no grad)."""
        if type(arr) is not np.ndarray:
            arr = np.asarray(arr)
        t = object.__new__(cls)
        t._init(arr, version_box)
        return t

    # Basic properties ----------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._array.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._array.shape)
        return self._array.shape[self._dim(dim)]

    def _dim(self, dim):
        nd = max(self._array.ndim, 1)
        if not -nd <= dim < nd:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-nd}, {nd - 1}], but got {dim})")
        return dim % nd

    @property
    def dtype(self) -> _DType:
        return _dtype._FROM_NUMPY[self._array.dtype]

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self):
        return False

    @property
    def ndim(self) -> int:
        return self._array.ndim

    def dim(self) -> int:
        return self._array.ndim

    def ndimension(self) -> int:
        return self._array.ndim

    def numel(self) -> int:
        return self._array.size

    nelement = numel

    def element_size(self) -> int:
        return self._array.itemsize

    def stride(self, dim=None):
        strides = tuple(s // self._array.itemsize for s in self._array.strides)
        return strides if dim is None else strides[self._dim(dim)]

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._array.flags.c_contiguous)

    def is_floating_point(self) -> bool:
        return self._array.dtype.kind == "f"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        return self._version_box[0]

    def data_ptr(self) -> int:
        return self._array.__array_interface__["data"][0]

    # Autograd state ------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        flag = bool(flag)
        if self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if flag and self._array.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients "
                               f"(got {self.dtype})")
        self._requires_grad = flag

    def requires_grad_(self, requires_grad: bool = True):
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got "
                                f"{type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has data of a different size: "
                                   f"{list(value.shape)} vs {list(self.shape)}")
            if value.dtype is not self.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: "
                                   f"{value.dtype} vs {self.dtype}")
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def _accumulator(self) -> AccumulateGrad:
        if self._accum is None:
            self._accum = AccumulateGrad(self)
        return self._accum

    def retain_grad(self):
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None and not self._retains_grad:
            self.grad_fn.retain_output(self._output_nr, self)
            self._retains_grad = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle with ``remove()``."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            return add_hook(self._accumulator().leaf_hooks, hook)
        return self.grad_fn.register_prehook_for_output(self._output_nr, hook)

    def register_post_accumulate_grad_hook(self, hook):
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        return add_hook(self.__dict__.setdefault("_post_accumulate_hooks", {}), hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate the gradient of this tensor into the leaves' ``.grad``."""
        from .autograd import backward
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs)

    def detach(self):
        """A tensor sharing this one's data (and version counter) outside the graph."""
        return Tensor._wrap(self._array, self._version_box)

    def detach_(self):
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self):
        return Tensor._wrap(self._array)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError("Tensor.data must be set to a Tensor")
        self._array = value._array

    # In-place machinery ----------------------------------------------------------------
    def _check_inplace_allowed(self, others=()):
        """Raise like PyTorch for in-place ops that would corrupt autograd; return whether
        the op must be recorded in the graph."""
        if not is_grad_enabled():
            return False
        if self._requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        track = self._requires_grad or any(isinstance(o, Tensor) and o._requires_grad
                                           for o in others)
        base = self._base
        if track and base is not None and base._requires_grad and base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        return track

    def _inplace_from(self, out: Tensor, track: bool):
        """Write ``out`` (computed out of place) into this tensor's storage and, when
        tracked, make this tensor the op's output in the graph."""
        if out.shape != self.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(out.shape)}")
        if not _dtype.can_cast(out.dtype, self.dtype):
            raise RuntimeError(f"result type {out.dtype.name.capitalize()} can't be cast to "
                               f"the desired output type {self.dtype.name.capitalize()}")
        node = out.grad_fn if track else None
        if node is not None and node._saved:
            for s in node._saved:
                if s is not None and s.tensor is self:
                    # the op saved this tensor's old value: keep a private copy of it
                    snap = Tensor._wrap(self._array.copy())
                    snap.grad_fn, snap._output_nr = self.grad_fn, self._output_nr
                    snap._requires_grad = self._requires_grad
                    s.tensor, s.version_box, s.version = snap, snap._version_box, 0
        if out._array is not self._array:
            if not self._array.flags.writeable:
                raise RuntimeError("unsupported operation: more than one element of the "
                                   "written-to tensor refers to a single memory location. "
                                   "Please clone() the tensor before performing the operation.")
            np.copyto(self._array, out._array, casting="unsafe")
        self._version_box[0] += 1
        if node is None:
            return self
        if self._base is not None:
            self._rebase_view(out)
            return self
        self.grad_fn, self._output_nr, self._requires_grad = node, out._output_nr, True
        if node._saved:
            for s in node._saved:
                if s is not None and s.is_output:
                    # same values as self now: share its array and let the temporary go
                    s.array = self._array
                    s.version_box, s.version = self._version_box, self._version_box[0]
        return self

    def _rebase_view(self, out):
        """After an in-place op on this view: its base becomes the old base with the view's
        region replaced by ``out`` (a CopySlices node), and this view a view of that."""
        from .ops.shape import CopySlices
        base = self._base
        view_fn = self.__dict__["_view_fn"]
        new_base = CopySlices.apply(base, out, view_fn=view_fn)
        base.grad_fn, base._output_nr, base._requires_grad = new_base.grad_fn, 0, True
        from .autograd.grad_mode import enable_grad
        with enable_grad():
            again = view_fn(base)
        self.grad_fn, self._output_nr, self._requires_grad = again.grad_fn, 0, True

    def _apply_inplace(self, fn, *others):
        """``self = fn(self, *others)`` in place, with PyTorch's autograd rules."""
        track = self._check_inplace_allowed(others)
        if track:
            out = fn(self, *others)
        else:
            from .autograd.grad_mode import no_grad
            with no_grad():
                out = fn(self, *others)
        return self._inplace_from(out, track)

    def _bump_version(self):
        self._version_box[0] += 1

    # Conversion ----------------------------------------------------------------------
    def numpy(self, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._array

    def item(self):
        if self._array.size != 1:
            raise RuntimeError(f"a Tensor with {self._array.size} elements cannot be converted "
                               "to Scalar")
        return self._plain_array().reshape(()).item()

    def tolist(self):
        return self._plain_array().tolist()

    def _plain_array(self):
        """The values as a NumPy array of a NumPy dtype (bfloat16 widened to float32)."""
        arr = self._array
        return _bfloat16.to_float32(arr) if arr.dtype == _bfloat16.NP_DTYPE else arr

    def __array__(self, dtype=None, copy=None):
        arr = self._array
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __len__(self):
        if self._array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._array.shape[0]

    def __iter__(self):
        if self._array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self):
        if self._array.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._array.reshape(()))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._array.dtype.kind not in "iub" or self._array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __hash__(self):
        return id(self)

    def __repr__(self):
        from ._tensor_repr import tensor_repr
        return tensor_repr(self)

    def __str__(self):
        return self.__repr__()

    def __format__(self, spec):
        if self._array.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        # Plain pickling for multiprocessing/deepcopy only; weight files use safetensors.
        return (_rebuild, (self._array, self._requires_grad))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment")
        new = type(self).__new__(type(self))
        Tensor._init(new, self._array.copy())
        new._requires_grad = self._requires_grad
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        for k, v in self.__dict__.items():
            new.__dict__[k] = __import__("copy").deepcopy(v, memo)
        memo[id(self)] = new
        return new


def _rebuild(arr, requires_grad):
    t = Tensor._wrap(arr)
    t._requires_grad = requires_grad
    return t
