"""ResNet-18/34/50/101/152, ResNeXt and Wide ResNet with torchvision's module tree and
state_dict keys."""
from __future__ import annotations

from .. import nn
from ..functions import flatten
from ..nn.modules._fusion import conv_bn_act, max_pool, region
from ._registry import register_model
from ._weights import load_pretrained, v1_weights, v2_weights


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = conv_bn_act(x, self.conv1, self.bn1, self.relu)
        return conv_bn_act(out, self.conv2, self.bn2, self.relu, residual=identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = conv_bn_act(x, self.conv1, self.bn1, self.relu)
        out = conv_bn_act(out, self.conv2, self.bn2, self.relu)
        return conv_bn_act(out, self.conv3, self.bn3, self.relu, residual=identity)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1,
                 width_per_group=64, norm_layer=None):
        super().__init__()
        self._norm_layer = norm_layer or nn.BatchNorm2d
        self.inplanes = 64
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        norm_layer = self._norm_layer
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        self.dilation, norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation,
                                norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x):
        with region():  # fused blocks hand channels-last activations on
            x = max_pool(conv_bn_act(x, self.conv1, self.bn1, self.relu), self.maxpool)
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = flatten(self.avgpool(x), 1)
        return self.fc(x)


ResNet18_Weights = v1_weights("ResNet18_Weights", "resnet18-f37072fd.pth", 11_689_512)
ResNet34_Weights = v1_weights("ResNet34_Weights", "resnet34-b627a593.pth", 21_797_672)
ResNet50_Weights = v2_weights("ResNet50_Weights", "resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth",
                              25_557_032)
ResNet101_Weights = v2_weights("ResNet101_Weights", "resnet101-63fe2227.pth",
                               "resnet101-cd907fc2.pth", 44_549_160)
ResNet152_Weights = v2_weights("ResNet152_Weights", "resnet152-394f9c45.pth",
                               "resnet152-f82ba261.pth", 60_192_808)
ResNeXt50_32X4D_Weights = v2_weights("ResNeXt50_32X4D_Weights", "resnext50_32x4d-7cdf4587.pth",
                                     "resnext50_32x4d-1a0047aa.pth", 25_028_904)
ResNeXt101_32X8D_Weights = v2_weights("ResNeXt101_32X8D_Weights", "resnext101_32x8d-8ba56ff5.pth",
                                      "resnext101_32x8d-110c445d.pth", 88_791_336)
ResNeXt101_64X4D_Weights = v1_weights("ResNeXt101_64X4D_Weights", "resnext101_64x4d-173b62eb.pth",
                                      83_455_272, resize_size=232)
Wide_ResNet50_2_Weights = v2_weights("Wide_ResNet50_2_Weights", "wide_resnet50_2-95faca4d.pth",
                                     "wide_resnet50_2-9ba9bcbe.pth", 68_883_240)
Wide_ResNet101_2_Weights = v2_weights("Wide_ResNet101_2_Weights", "wide_resnet101_2-32ee1156.pth",
                                      "wide_resnet101_2-d733dc28.pth", 126_886_696)


def _resnet(block, layers, weights_cls, weights, progress, pretrained, kwargs):
    model = ResNet(block, layers, **kwargs)
    load_pretrained(model, weights_cls, weights, pretrained, kwargs)
    return model


@register_model(ResNet18_Weights)
def resnet18(*, weights=None, progress=True, pretrained=False, **kwargs):
    """ResNet-18 (11,689,512 parameters with 1000 classes)."""
    return _resnet(BasicBlock, [2, 2, 2, 2], ResNet18_Weights, weights, progress, pretrained,
                   kwargs)


@register_model(ResNet34_Weights)
def resnet34(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _resnet(BasicBlock, [3, 4, 6, 3], ResNet34_Weights, weights, progress, pretrained,
                   kwargs)


@register_model(ResNet50_Weights)
def resnet50(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _resnet(Bottleneck, [3, 4, 6, 3], ResNet50_Weights, weights, progress, pretrained,
                   kwargs)


@register_model(ResNet101_Weights)
def resnet101(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNet101_Weights, weights, progress, pretrained,
                   kwargs)


@register_model(ResNet152_Weights)
def resnet152(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _resnet(Bottleneck, [3, 8, 36, 3], ResNet152_Weights, weights, progress, pretrained,
                   kwargs)


def _grouped(kwargs, groups, width_per_group):
    """Set ResNeXt / Wide ResNet's group settings (an explicit different value is an error,
    as in torchvision)."""
    for name, value in (("groups", groups), ("width_per_group", width_per_group)):
        if kwargs.get(name, value) != value:
            raise ValueError(f"The parameter '{name}' expected value {value} but got "
                             f"{kwargs[name]} instead.")
        kwargs[name] = value
    return kwargs


@register_model(ResNeXt50_32X4D_Weights)
def resnext50_32x4d(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _resnet(Bottleneck, [3, 4, 6, 3], ResNeXt50_32X4D_Weights, weights, progress,
                   pretrained, _grouped(kwargs, 32, 4))


@register_model(ResNeXt101_32X8D_Weights)
def resnext101_32x8d(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNeXt101_32X8D_Weights, weights, progress,
                   pretrained, _grouped(kwargs, 32, 8))


@register_model(ResNeXt101_64X4D_Weights)
def resnext101_64x4d(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNeXt101_64X4D_Weights, weights, progress,
                   pretrained, _grouped(kwargs, 64, 4))


@register_model(Wide_ResNet50_2_Weights)
def wide_resnet50_2(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _resnet(Bottleneck, [3, 4, 6, 3], Wide_ResNet50_2_Weights, weights, progress,
                   pretrained, _grouped(kwargs, 1, 128))


@register_model(Wide_ResNet101_2_Weights)
def wide_resnet101_2(*, weights=None, progress=True, pretrained=False, **kwargs):
    return _resnet(Bottleneck, [3, 4, 23, 3], Wide_ResNet101_2_Weights, weights, progress,
                   pretrained, _grouped(kwargs, 1, 128))
