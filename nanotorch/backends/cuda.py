"""``torch.backends.cuda``: not built; ``matmul.allow_tf32`` and friends are settable flags."""


class _MatmulFlags:
    """``torch.backends.cuda.matmul``: precision flags of CUDA matrix products (ignored)."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    def __repr__(self):
        return f"<cuda matmul flags: allow_tf32={self.allow_tf32}>"


matmul = _MatmulFlags()


def is_built() -> bool:
    return False
