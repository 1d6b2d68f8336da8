"""``torch.backends``: the flags PyTorch scripts set. None of these back-ends exists in
nanotorch (BLAS and Numba do the work on the CPU), so the flags are recorded and ignored."""
from . import cuda, cudnn, mkldnn, mps

__all__ = ["cuda", "cudnn", "mkldnn", "mps"]
