"""``torch.backends.cudnn``: never available; ``benchmark``, ``deterministic``, ``enabled`` and
``allow_tf32`` are plain settable flags with PyTorch's defaults."""

benchmark = False
deterministic = False
enabled = True
allow_tf32 = True


def is_available() -> bool:
    return False


def version():
    return None
