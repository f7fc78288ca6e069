"""CIFAR backbones of the pruning literature: ResNet-56 with the option-A shortcut and VGG-16.

Both return a one-tuple with the last feature map, as mmpretrain's backbones do, so
``ImageClassifier(backbone=dict(type='gdpseg.CifarResNetBackbone'), neck=GlobalAveragePooling,
head=LinearClsHead)`` is the network of HRank (Lin et al. 2020), whose structures the GDP paper
uses for CIFAR-10.
"""
import torch.nn as nn

from gdpseg.models.cifar_resnet import CifarResNet
from gdpseg.registry import MODELS

# VGG-16 for CIFAR: 13 conv-BN-ReLU layers, 'M' a 2x2 max-pool
VGG16 = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512)


@MODELS.register_module()
class CifarResNetBackbone(nn.Module):
    """ResNet-(6n+2) for 32x32 inputs; out: 64 channels at 8x8.

    Args:
        depth: 20, 32, 44, 56 (the paper's) or 110.
        shortcut: ``'A'`` (parameter-free: subsample and zero-pad, the paper's) or ``'B'``.
        in_channels: 3 (RGB) or 1 (gray images such as Fashion-MNIST).
    """

    def __init__(self, depth: int = 56, shortcut: str = 'A', in_channels: int = 3):
        super().__init__()
        self.net = CifarResNet(depth, num_classes=1, shortcut=shortcut, in_channels=in_channels)
        del self.net.linear  # the classifier is mmpretrain's head
        self.out_channels = 64

    def forward(self, x):
        return (self.net.features(x),)


@MODELS.register_module()
class CifarVGG(nn.Module):
    """VGG-16 for 32x32 inputs (HRank's ``vgg_16_bn`` without its classifier): 13 conv-BN-ReLU
    layers; out: 512 channels at 2x2 (the classifier head pools and projects).

    Args:
        cfg: Channels per conv, ``'M'`` for a max-pool (default: VGG-16).
    """

    def __init__(self, cfg=VGG16):
        super().__init__()
        layers, cin = [], 3
        for v in cfg:
            if v == 'M':
                layers.append(nn.MaxPool2d(2, 2))
                continue
            layers += [nn.Conv2d(cin, v, 3, padding=1, bias=False), nn.BatchNorm2d(v),
                       nn.ReLU(inplace=True)]
            cin = v
        self.features = nn.Sequential(*layers)
        self.out_channels = cin

    def forward(self, x):
        return (self.features(x),)
