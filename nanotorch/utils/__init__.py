"""Utilities (``torch.utils``): ``data`` for datasets and loaders, ``summary`` for a
per-layer table, fine-tuning helpers, and the ``nn.utils`` gradient tools re-exported."""
from ..nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters
from . import data
from .finetune import count_parameters, freeze, head_name, replace_head, trainable_subset, unfreeze
from .summary import summary

__all__ = ["data", "summary", "count_parameters", "freeze", "head_name", "replace_head",
           "trainable_subset", "unfreeze",
           "clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]
