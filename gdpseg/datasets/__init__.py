"""Data: Pascal VOC and COCO are used through mmseg and mmdet; this package adds offline data in
their layouts (from scikit-learn's digits) and layout checks."""
from .cifar import CIFAR10Local
from .digits_cifar import make_digits_cifar
from .digits_coco import make_digits_coco
from .digits_voc import make_digits_voc
from .voc_check import check_voc_layout

__all__ = ['CIFAR10Local', 'check_voc_layout', 'make_digits_cifar', 'make_digits_coco',
           'make_digits_voc']
