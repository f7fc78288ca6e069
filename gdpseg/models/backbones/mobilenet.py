"""MobileNets mmpretrain does not ship in the form the GDP paper prunes: MobileNet-V1 (Howard et
al. 2017) and a CIFAR MobileNet-V2. Both return a one-tuple with the last feature map."""
import torch.nn as nn

from gdpseg.registry import MODELS


def _conv_bn(cin, cout, k, stride, groups=1, act=nn.ReLU):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act(inplace=True))
    return layers


# (output channels, stride) of MobileNet-V1's depthwise-separable blocks
V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
             (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


@MODELS.register_module()
class MobileNetV1(nn.Module):
    """MobileNet-V1 (width 1.0, 224² inputs): a 3x3 stem, then 13 depthwise 3x3 + pointwise 1x1
    blocks, each conv followed by BN and ReLU; out: 1024 channels at 1/32."""

    def __init__(self, widen_factor: float = 1.0):
        super().__init__()
        width = lambda c: max(8, int(c * widen_factor))  # noqa: E731
        layers, cin = _conv_bn(3, width(32), 3, 2), width(32)
        for cout, stride in V1_BLOCKS:
            layers += _conv_bn(cin, cin, 3, stride, groups=cin)
            layers += _conv_bn(cin, width(cout), 1, 1)
            cin = width(cout)
        self.features = nn.Sequential(*layers)
        self.out_channels = cin

    def forward(self, x):
        return (self.features(x),)


class InvertedResidual(nn.Module):
    """Expand 1x1 - depthwise 3x3 - project 1x1 (linear), with a skip when shapes allow."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = _conv_bn(cin, hidden, 1, 1, act=nn.ReLU6) if expand != 1 else []
        layers += _conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6)
        layers += _conv_bn(hidden, cout, 1, 1, act=None)
        self.conv = nn.Sequential(*layers)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.skip else self.conv(x)


# (expansion, output channels, blocks, stride): MobileNet-V2 with the CIFAR strides
CIFAR_V2 = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
            (6, 160, 3, 2), (6, 320, 1, 1))


@MODELS.register_module()
class CifarMobileNetV2(nn.Module):
    """MobileNet-V2 for 32x32 inputs: the common CIFAR variant (kuangliu/pytorch-cifar) with a
    stride-1 stem and a stride-1 second stage, so three stride-2 stages remain; out: 1280
    channels at 4x4. (The paper takes its CIFAR MobileNet-V2 from LeGR and notes that the
    variants differ between works.)"""

    def __init__(self):
        super().__init__()
        layers, cin = _conv_bn(3, 32, 3, 1, act=nn.ReLU6), 32
        for expand, cout, n, stride in CIFAR_V2:
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, stride if i == 0 else 1, expand))
                cin = cout
        layers += _conv_bn(cin, 1280, 1, 1, act=nn.ReLU6)
        self.features = nn.Sequential(*layers)
        self.out_channels = 1280

    def forward(self, x):
        return (self.features(x),)
