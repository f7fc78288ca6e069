"""Classification backbones in mmpretrain's form (``forward(x) -> tuple of feature maps``) for
the networks of the pruning literature that mmpretrain does not ship."""
from .cifar import CifarResNetBackbone, CifarVGG
from .efficientnet_lite import EfficientNetLite0
from .mobilenet import CifarMobileNetV2, MobileNetV1

__all__ = ['CifarResNetBackbone', 'CifarVGG', 'EfficientNetLite0', 'CifarMobileNetV2', 'MobileNetV1']
