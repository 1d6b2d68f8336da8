"""Differentiable ops, each defined once as an ``autograd.function.Op`` subclass:
``forward`` computes on NumPy arrays (calling ``kernels`` where NumPy alone would make
extra passes), ``backward`` returns input gradients using Tensor operations.

One module per theme: ``elementwise``, ``activation``, ``reduction``, ``softmax``,
``linalg`` (matmul, linear), ``conv``, ``norm``, ``pool``, ``loss``, ``indexing``,
``shape``, ``padding``, ``embedding``, ``dropout``. ``registry`` turns functions (and
one-input op classes) into ``nanotorch.*`` functions, Tensor methods and in-place methods.
No ``Op`` subclass lives outside this package (``tests/test_ops_registry.py``)."""
