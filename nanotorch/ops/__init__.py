"""Differentiable ops, each defined once as an ``autograd.function.Op`` subclass:
``forward`` computes on NumPy arrays (calling ``kernels`` where NumPy alone would make
extra passes), ``backward`` returns input gradients using Tensor operations."""
