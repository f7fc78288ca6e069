"""An mmseg segmentor around any plain network that maps images to per-pixel logits."""
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.segmentors.base import BaseSegmentor

from gdpseg.registry import MODELS


@MODELS.register_module()
class PlainSegmentor(BaseSegmentor):
    """Train and evaluate a plain ``nn.Module`` (e.g. :class:`DeepLabV3Plus`) with mmseg's data
    pipeline, data preprocessor, losses and metrics.

    Args:
        network: The network (config of gdpseg's MODELS, or a module). It returns logits
            ``[N, num_classes, h, w]``; they are resized to the input size.
        num_classes: Classes of the logits.
        ignore_index: Label ignored by the loss (255 in Pascal VOC).
        data_preprocessor: mmseg ``SegDataPreProcessor`` config.
        align_corners: Of the resize of logits (mmseg convention).
    """

    def __init__(self, network, num_classes: int, ignore_index: int = 255,
                 data_preprocessor: Optional[dict] = None, align_corners: bool = False,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.network = network if isinstance(network, nn.Module) else MODELS.build(network)
        self.num_classes = num_classes
        self.out_channels = num_classes
        self.ignore_index = ignore_index
        self.align_corners = align_corners

    def extract_feat(self, inputs):
        raise NotImplementedError('a plain network has no separate feature extractor')

    def _forward(self, inputs, data_samples=None):
        logits = self.network(inputs)
        if logits.shape[-2:] != inputs.shape[-2:]:
            logits = F.interpolate(logits, size=inputs.shape[-2:], mode='bilinear',
                                   align_corners=self.align_corners)
        return logits

    def encode_decode(self, inputs, batch_img_metas: List[dict]):
        return self._forward(inputs)

    def loss(self, inputs, data_samples) -> dict:
        logits = self._forward(inputs)
        target = torch.stack([s.gt_sem_seg.data.squeeze(0) for s in data_samples]).long()
        loss = F.cross_entropy(logits, target, ignore_index=self.ignore_index)
        return {'loss_ce': loss}

    def predict(self, inputs, data_samples=None):
        return self.postprocess_result(self._forward(inputs), data_samples)
