"""Semantic segmentation (mmseg segmentors, PlainSegmentor): VOC data check, mIoU first."""
from gdpseg.registry import TASKS

from .base import TaskAdapter


@TASKS.register_module()
class SegmentationTask(TaskAdapter):
    name = 'segmentation'
    priority = 10
    draw_types = ('mmseg.SegVisualizationHook', 'mmseg.SegLocalVisualizer')
    headline = ('mIoU', 'aAcc', 'mAcc')

    def model_class(self):
        from mmseg.models.segmentors.base import BaseSegmentor

        return BaseSegmentor

    def check_data(self, dataloader_cfg) -> None:
        from gdpseg.datasets import check_voc_layout

        check_voc_layout(dataloader_cfg)
