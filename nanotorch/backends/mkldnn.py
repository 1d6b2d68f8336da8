"""``torch.backends.mkldnn``: nanotorch does not use oneDNN; ``enabled`` is a settable flag."""

enabled = True


def is_available() -> bool:
    return False
