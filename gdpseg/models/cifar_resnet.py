"""ResNet for CIFAR (He et al. 2016, section 4.2): 6n+2 layers, stages of 16/32/64 channels.

``shortcut='A'`` is the parameter-free shortcut of the paper (subsample, then zero-pad the new
channels), as in the ResNet-56 the pruning literature compares on; ``'B'`` uses a 1x1 conv + BN.
"""
import torch.nn as nn
import torch.nn.functional as F

from gdpseg.registry import MODELS


class PadShortcut(nn.Module):
    """Option A: take every other pixel and zero-pad the channels up to ``planes``."""

    def __init__(self, planes, in_planes):
        super().__init__()
        self.pad = (planes - in_planes) // 2

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a residual connection."""

    def __init__(self, in_planes, planes, stride=1, shortcut='A'):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Identity()
        if stride != 1 or in_planes != planes:
            if shortcut == 'A':
                self.shortcut = PadShortcut(planes, in_planes)
            else:
                self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False),
                                              nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


@MODELS.register_module()
class CifarResNet(nn.Module):
    """CIFAR ResNet of ``depth = 6n + 2`` layers (56 by default); ``in_channels`` 1 for gray
    images (Fashion-MNIST)."""

    def __init__(self, depth=56, num_classes=10, shortcut='A', in_channels=3):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f'depth must be 6n+2 (20, 32, 44, 56, 110), got {depth}')
        if shortcut not in ('A', 'B'):
            raise ValueError(f"shortcut must be 'A' or 'B', got {shortcut!r}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, in_planes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(n):
                blocks.append(BasicBlock(in_planes, planes, stride if i == 0 else 1, shortcut))
                in_planes = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.linear = nn.Linear(64, num_classes)

    def features(self, x):
        """The last stage's feature map (64 channels, 1/4 of the input's size)."""
        out = F.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(out)))

    def forward(self, x):
        out = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.linear(out)
