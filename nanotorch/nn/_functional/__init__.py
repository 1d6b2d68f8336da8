"""``nn.functional``, one topic per file: argument checks and PyTorch's error messages in
front of the ops in ``nanotorch/ops/`` (no op is defined here)."""
