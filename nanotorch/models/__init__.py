"""torchvision-compatible architectures: same module trees, state_dict keys, constructor
signatures and weight-set names, so torchvision's weight files load unchanged."""
from ._registry import get_model, get_model_builder, get_model_weights, get_weight, list_models
from ._weights import WeightInfo, Weights, find_weight_file, imagenet_categories, nanotorch_home
from .mobilenetv2 import MobileNet_V2_Weights, MobileNetV2, mobilenet_v2
from .mobilenetv3 import (
                          MobileNet_V3_Large_Weights,
                          MobileNet_V3_Small_Weights,
                          MobileNetV3,
                          mobilenet_v3_large,
                          mobilenet_v3_small,
)
from .resnet import (
                          ResNet,
                          ResNet18_Weights,
                          ResNet34_Weights,
                          ResNet50_Weights,
                          ResNet101_Weights,
                          ResNet152_Weights,
                          ResNeXt50_32X4D_Weights,
                          ResNeXt101_32X8D_Weights,
                          ResNeXt101_64X4D_Weights,
                          Wide_ResNet50_2_Weights,
                          Wide_ResNet101_2_Weights,
                          resnet18,
                          resnet34,
                          resnet50,
                          resnet101,
                          resnet152,
                          resnext50_32x4d,
                          resnext101_32x8d,
                          resnext101_64x4d,
                          wide_resnet50_2,
                          wide_resnet101_2,
)
from .vgg import (
                          VGG,
                          VGG11_BN_Weights,
                          VGG11_Weights,
                          VGG13_BN_Weights,
                          VGG13_Weights,
                          VGG16_BN_Weights,
                          VGG16_Weights,
                          VGG19_BN_Weights,
                          VGG19_Weights,
                          vgg11,
                          vgg11_bn,
                          vgg13,
                          vgg13_bn,
                          vgg16,
                          vgg16_bn,
                          vgg19,
                          vgg19_bn,
)

__all__ = [
    "get_model", "get_model_builder", "get_model_weights", "get_weight", "list_models", "Weights",
    "WeightInfo", "find_weight_file", "imagenet_categories", "nanotorch_home", "MobileNetV2",
    "MobileNet_V2_Weights", "mobilenet_v2", "MobileNetV3", "MobileNet_V3_Large_Weights",
    "MobileNet_V3_Small_Weights", "mobilenet_v3_large", "mobilenet_v3_small",
    "ResNeXt101_32X8D_Weights", "ResNeXt101_64X4D_Weights", "ResNeXt50_32X4D_Weights", "ResNet",
    "ResNet101_Weights", "ResNet152_Weights", "ResNet18_Weights", "ResNet34_Weights",
    "ResNet50_Weights", "Wide_ResNet101_2_Weights", "Wide_ResNet50_2_Weights", "resnet101",
    "resnet152", "resnet18", "resnet34", "resnet50", "resnext101_32x8d", "resnext101_64x4d",
    "resnext50_32x4d", "wide_resnet101_2", "wide_resnet50_2", "VGG", "VGG11_BN_Weights",
    "VGG11_Weights", "VGG13_BN_Weights", "VGG13_Weights", "VGG16_BN_Weights", "VGG16_Weights",
    "VGG19_BN_Weights", "VGG19_Weights", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
    "vgg16_bn", "vgg19", "vgg19_bn",
]
