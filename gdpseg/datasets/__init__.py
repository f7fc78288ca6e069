"""Data: Pascal VOC and COCO are used through mmseg and mmdet; this package adds offline data in
their layouts (from scikit-learn's digits), Fashion-MNIST from its IDX files, and layout
checks."""
from .cifar import CIFAR10Local
from .digits_cifar import make_digits_cifar
from .digits_coco import make_digits_coco
from .digits_voc import make_digits_voc
from .fashion_mnist import FashionMNIST
from .fashion_scenes import FashionScenesDataset, make_fashion_scenes
from .image_folder import ImageFolder
from .sample_style import make_sample_style_data
from .voc_check import check_voc_layout

__all__ = ['CIFAR10Local', 'FashionMNIST', 'FashionScenesDataset', 'ImageFolder', 'check_voc_layout', 'make_digits_cifar',
           'make_digits_coco', 'make_digits_voc', 'make_fashion_scenes', 'make_sample_style_data']
