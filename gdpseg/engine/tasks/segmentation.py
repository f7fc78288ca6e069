"""Semantic segmentation (mmseg segmentors, PlainSegmentor): VOC data check, mIoU line."""
from gdpseg.registry import TASKS

from .base import TaskAdapter


@TASKS.register_module()
class SegmentationTask(TaskAdapter):
    name = 'segmentation'
    priority = 10

    def matches(self, model) -> bool:
        from mmseg.models.segmentors.base import BaseSegmentor

        return isinstance(model, BaseSegmentor)

    def check_data(self, dataloader_cfg) -> None:
        from gdpseg.datasets import check_voc_layout

        check_voc_layout(dataloader_cfg)

    def format_metrics(self, metrics: dict) -> str:
        keys = [k for k in ('mIoU', 'aAcc', 'mAcc') if k in metrics]
        rest = {k: v for k, v in metrics.items() if k not in keys}
        head = '  '.join(f'{k}: {metrics[k]}' for k in keys)
        return (head + ('  ' + super().format_metrics(rest) if rest else '')).strip()
