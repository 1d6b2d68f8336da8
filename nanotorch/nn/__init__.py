"""Neural-network layers, losses, initialisation and utilities (``torch.nn``)."""
from . import functional, init, parallel, utils
from .modules import *  # noqa: F401,F403
from .modules import Module
from .parallel import SyncBatchNorm  # noqa: F401  (torch.nn.SyncBatchNorm)
from .parameter import Buffer, Parameter
