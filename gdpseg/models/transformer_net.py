"""Johnson et al.'s fast style-transfer network, as in pytorch/examples ``fast_neural_style``.

Reflection padding, instance normalisation, a residual trunk of five blocks and nearest-upsample
convolutions. Plain PyTorch.
"""
import torch.nn as nn
import torch.nn.functional as F

from gdpseg.registry import MODELS


class ConvLayer(nn.Module):
    """Reflection pad by ``kernel_size // 2``, then a convolution."""

    def __init__(self, cin, cout, kernel_size, stride=1):
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(cin, cout, kernel_size, stride)

    def forward(self, x):
        return self.conv2d(self.reflection_pad(x))


class ResidualBlock(nn.Module):
    """conv-IN-ReLU-conv-IN plus the input; no activation after the sum."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, 3)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.relu(self.in1(self.conv1(x)))
        return self.in2(self.conv2(out)) + x


class UpsampleConvLayer(nn.Module):
    """Nearest-neighbour upsampling, then a reflection-padded convolution."""

    def __init__(self, cin, cout, kernel_size, upsample=None):
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(cin, cout, kernel_size)

    def forward(self, x):
        if self.upsample:
            x = F.interpolate(x, mode='nearest', scale_factor=self.upsample)
        return self.conv2d(self.reflection_pad(x))


@MODELS.register_module()
class TransformerNet(nn.Module):
    """Image transformation network; input and output are RGB images in [0, 255]."""

    def __init__(self):
        super().__init__()
        self.conv1 = ConvLayer(3, 32, 9)
        self.in1 = nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, 3, stride=2)
        self.in2 = nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, 3, stride=2)
        self.in3 = nn.InstanceNorm2d(128, affine=True)
        self.res1, self.res2, self.res3, self.res4, self.res5 = (ResidualBlock(128)
                                                                 for _ in range(5))
        self.deconv1 = UpsampleConvLayer(128, 64, 3, upsample=2)
        self.in4 = nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, 3, upsample=2)
        self.in5 = nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, 9)
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(self.in1(self.conv1(x)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res5(self.res4(self.res3(self.res2(self.res1(y)))))
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)
