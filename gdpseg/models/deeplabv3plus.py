"""DeepLabV3+ as in the public implementation the GDP paper follows (VainF/DeepLabV3Plus-Pytorch).

A torchvision ResNet backbone (output stride 16: the last stage dilated), an ASPP with a 1x1 branch,
three atrous 3x3 branches and an image-pooling branch, and a decoder that concatenates a 48-channel
projection of ``layer1`` with the upsampled ASPP output. Module names match that implementation
(``backbone.*``, ``classifier.project``, ``classifier.aspp``, ``classifier.classifier``), so its
checkpoints load with ``load_state_dict``. Plain PyTorch: no OpenMMLab type inside.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from gdpseg.registry import MODELS


def _conv_bn_relu(cin, cout, kernel_size=1, dilation=1):
    padding = dilation * (kernel_size - 1) // 2
    return [nn.Conv2d(cin, cout, kernel_size, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class ASPPConv(nn.Sequential):
    """One atrous 3x3 branch: conv, BN, ReLU."""

    def __init__(self, cin, cout, dilation):
        super().__init__(*_conv_bn_relu(cin, cout, 3, dilation))


class ASPPPooling(nn.Sequential):
    """Image-pooling branch: global average pool, 1x1 conv, BN, ReLU, upsample back."""

    def __init__(self, cin, cout):
        super().__init__(nn.AdaptiveAvgPool2d(1), *_conv_bn_relu(cin, cout))

    def forward(self, x):
        size = x.shape[-2:]
        x = super().forward(x)
        return F.interpolate(x, size=size, mode='bilinear', align_corners=False)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: five parallel branches, concatenated and projected."""

    def __init__(self, in_channels, rates=(6, 12, 18), channels=256):
        super().__init__()
        branches = [nn.Sequential(*_conv_bn_relu(in_channels, channels))]
        branches += [ASPPConv(in_channels, channels, r) for r in rates]
        branches.append(ASPPPooling(in_channels, channels))
        self.convs = nn.ModuleList(branches)
        self.project = nn.Sequential(*_conv_bn_relu(len(branches) * channels, channels),
                                     nn.Dropout(0.1))

    def forward(self, x):
        return self.project(torch.cat([branch(x) for branch in self.convs], dim=1))


class DeepLabHeadV3Plus(nn.Module):
    """Decoder: low-level projection + ASPP, concatenated, 3x3 conv, classifier."""

    def __init__(self, in_channels, low_level_channels, num_classes, rates=(6, 12, 18),
                 aspp_channels=256, low_level_proj=48):
        super().__init__()
        self.project = nn.Sequential(*_conv_bn_relu(low_level_channels, low_level_proj))
        self.aspp = ASPP(in_channels, rates, aspp_channels)
        self.classifier = nn.Sequential(
            *_conv_bn_relu(low_level_proj + aspp_channels, aspp_channels, 3),
            nn.Conv2d(aspp_channels, num_classes, 1))

    def forward(self, features):
        low = self.project(features['low_level'])
        out = self.aspp(features['out'])
        out = F.interpolate(out, size=low.shape[-2:], mode='bilinear', align_corners=False)
        return self.classifier(torch.cat([low, out], dim=1))


class ResNetBackbone(nn.Module):
    """A torchvision ResNet returning ``{'low_level': layer1, 'out': layer4}``."""

    def __init__(self, depth=50, output_stride=16):
        super().__init__()
        dilate = {8: [False, True, True], 16: [False, False, True], 32: [False, False, False]}
        if output_stride not in dilate:
            raise ValueError(f'output_stride must be 8, 16 or 32, got {output_stride}')
        builders = {18: torchvision.models.resnet18, 34: torchvision.models.resnet34,
                    50: torchvision.models.resnet50, 101: torchvision.models.resnet101}
        if depth not in builders:
            raise ValueError(f'depth must be one of {sorted(builders)}, got {depth}')
        if depth < 50 and output_stride != 32:
            raise ValueError(f'torchvision ResNet-{depth} (BasicBlock) cannot dilate; '
                             'use output_stride=32 or depth>=50')
        net = builders[depth](weights=None, replace_stride_with_dilation=dilate[output_stride])
        for name in ('conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3', 'layer4'):
            setattr(self, name, getattr(net, name))
        self.out_channels = 2048 if depth >= 50 else 512
        self.low_level_channels = 256 if depth >= 50 else 64

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        low = self.layer1(x)
        return {'low_level': low, 'out': self.layer4(self.layer3(self.layer2(low)))}


@MODELS.register_module()
class DeepLabV3Plus(nn.Module):
    """DeepLabV3+ with a torchvision ResNet backbone.

    Args:
        num_classes: Output classes (21 for Pascal VOC).
        depth: ResNet depth (18, 34, 50, 101).
        output_stride: 16 (paper setting, ASPP rates 6/12/18) or 8 (rates doubled), 32 for tests.
        rates: ASPP atrous rates; ``None`` picks the standard ones for ``output_stride``.
        aspp_channels: Channels of every ASPP branch and of the decoder.
        low_level_proj: Channels of the low-level projection (48 in the paper).
        backbone_checkpoint: Optional local path of torchvision ResNet weights (never downloaded).
    """

    def __init__(self, num_classes=21, depth=50, output_stride=16, rates=None, aspp_channels=256,
                 low_level_proj=48, backbone_checkpoint=None):
        super().__init__()
        self.backbone = ResNetBackbone(depth, output_stride)
        if backbone_checkpoint:
            if not os.path.isfile(backbone_checkpoint):
                raise FileNotFoundError(
                    f'backbone_checkpoint={backbone_checkpoint} does not exist: save torchvision '
                    f'ResNet-{depth} ImageNet weights there (a state dict), or set '
                    'backbone_checkpoint=None (random initialisation); nothing is downloaded')
            state = torch.load(backbone_checkpoint, map_location='cpu', weights_only=True)
            state = {k: v for k, v in state.items() if not k.startswith('fc.')}
            self.backbone.load_state_dict(state)
        if rates is None:
            rates = (12, 24, 36) if output_stride == 8 else (6, 12, 18)
        self.classifier = DeepLabHeadV3Plus(self.backbone.out_channels,
                                            self.backbone.low_level_channels, num_classes,
                                            tuple(rates), aspp_channels, low_level_proj)

    def forward(self, x):
        size = x.shape[-2:]
        logits = self.classifier(self.backbone(x))
        return F.interpolate(logits, size=size, mode='bilinear', align_corners=False)
