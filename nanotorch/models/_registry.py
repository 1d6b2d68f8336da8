"""The model registry: ``get_model``, ``list_models``, ``get_model_weights``, ``get_weight``."""
from __future__ import annotations

_BUILDERS = {}   # model name -> builder function
_WEIGHTS = {}    # model name -> its Weights enum


def register_model(weights_cls):
    """Decorator recording a builder (``resnet18``) under its name with its weight enum."""
    def record(fn):
        _BUILDERS[fn.__name__] = fn
        _WEIGHTS[fn.__name__] = weights_cls
        return fn
    return record


def list_models():
    """Names of every model ``get_model`` can build, sorted."""
    return sorted(_BUILDERS)


def _known(name):
    if name not in _BUILDERS:
        raise ValueError(f"Unknown model {name!r}; available: {list_models()}")
    return name


def get_model(name: str, **kwargs):
    """Build a model by name (``get_model("resnet18", weights="IMAGENET1K_V1")``)."""
    return _BUILDERS[_known(name)](**kwargs)


def get_model_builder(name: str):
    return _BUILDERS[_known(name)]


def get_model_weights(name):
    """The weight enum of a model, given its name or its builder function."""
    if callable(name):
        name = name.__name__
    return _WEIGHTS[_known(name)]


def get_weight(name: str):
    """A weight-set member from its full name, ``"ResNet50_Weights.IMAGENET1K_V2"``."""
    enum_name, _, member = name.partition(".")
    for weights_cls in _WEIGHTS.values():
        if weights_cls.__name__ == enum_name:
            if member not in weights_cls.__members__:
                raise ValueError(f"{enum_name} has no weight set {member!r}; known: "
                                 f"{list(weights_cls.__members__)}")
            return weights_cls[member]
    raise ValueError(f"Unknown weight enum {enum_name!r} in {name!r}")
