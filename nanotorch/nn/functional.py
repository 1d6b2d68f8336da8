"""Functional forms of the layers (``torch.nn.functional``). Each topic lives in
``nn/_functional/<topic>.py``; this module re-exports them."""
