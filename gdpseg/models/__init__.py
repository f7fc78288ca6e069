"""Task networks in plain PyTorch, registered in gdpseg's MODELS."""
from .cifar_resnet import CifarResNet
from .deeplabv3plus import DeepLabV3Plus
from .transformer_net import TransformerNet

__all__ = ['CifarResNet', 'DeepLabV3Plus', 'TransformerNet']
