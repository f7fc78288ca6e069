"""mmseg's segmentation visualizer for small images: ``--show-dir`` pictures of a 64x64 input
would be 128x64 pixels with the class names drawn over each other."""
import math

import numpy as np
import torch
from mmseg.visualization import SegLocalVisualizer

from gdpseg.registry import VISUALIZERS


def _scaled(sample, factor):
    from mmengine.structures import PixelData

    out = sample.clone()
    for key in ('gt_sem_seg', 'pred_sem_seg', 'seg_logits'):
        field = sample.get(key)
        if field is not None:
            data = field.data
            out.set_field(PixelData(data=torch.repeat_interleave(
                torch.repeat_interleave(data, factor, dim=-2), factor, dim=-1)), key)
    return out


@VISUALIZERS.register_module()
class ScaledSegVisualizer(SegLocalVisualizer):
    """``SegLocalVisualizer`` that first enlarges an image (and its masks) whose shorter side is
    below ``min_size`` by a whole factor (nearest neighbour: every pixel stays a pixel), so
    masks and class names are drawn at a readable size.

    Args:
        min_size: Shorter side the drawn image reaches at least.
        **kwargs: As ``SegLocalVisualizer``.
    """

    def __init__(self, name: str = 'visualizer', min_size: int = 256, **kwargs):
        super().__init__(name=name, **kwargs)
        self.min_size = int(min_size)

    def add_datasample(self, name, image, data_sample=None, *args, **kwargs):
        factor = max(1, math.ceil(self.min_size / max(1, min(image.shape[:2]))))
        if factor > 1:
            image = np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
            if data_sample is not None:
                data_sample = _scaled(data_sample, factor)
        return super().add_datasample(name, image, data_sample, *args, **kwargs)
