"""torchvision-compatible architectures: same module trees and state_dict keys, so
torchvision's weight files load unchanged."""
from ._weights import Weights, find_weight_file, nanotorch_home
from .mobilenetv2 import MobileNet_V2_Weights, MobileNetV2, mobilenet_v2
from .resnet import (ResNet, ResNet18_Weights, ResNet34_Weights, ResNet50_Weights, resnet18,
                     resnet34, resnet50)
from .vgg import (VGG, VGG11_BN_Weights, VGG11_Weights, VGG13_BN_Weights, VGG13_Weights,
                  VGG16_BN_Weights, VGG16_Weights, VGG19_BN_Weights, VGG19_Weights, vgg11,
                  vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn)

_MODELS = {f.__name__: f for f in (resnet18, resnet34, resnet50, vgg11, vgg11_bn, vgg13, vgg13_bn,
                                   vgg16, vgg16_bn, vgg19, vgg19_bn, mobilenet_v2)}


def list_models():
    return sorted(_MODELS)


def get_model(name: str, **kwargs):
    """Build a model by name (``get_model("resnet18", weights="IMAGENET1K_V1")``)."""
    if name not in _MODELS:
        raise ValueError(f"unknown model '{name}'; available: {list_models()}")
    return _MODELS[name](**kwargs)
