"""Classification backbones in mmpretrain's form (``forward(x) -> tuple of feature maps``) for
the CIFAR networks of the pruning literature, which mmpretrain does not ship."""
from .cifar import CifarResNetBackbone, CifarVGG

__all__ = ['CifarResNetBackbone', 'CifarVGG']
