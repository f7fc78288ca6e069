"""Semantic segmentation (mmseg segmentors, PlainSegmentor): VOC data check, mIoU first."""
from gdpseg.registry import TASKS

from .base import TaskAdapter


@TASKS.register_module()
class SegmentationTask(TaskAdapter):
    name = 'segmentation'
    priority = 10
    draw_types = ('mmseg.SegVisualizationHook', 'gdpseg.ScaledSegVisualizer')
    headline = ('mIoU', 'aAcc', 'mAcc')

    def model_class(self):
        from mmseg.models.segmentors.base import BaseSegmentor

        return BaseSegmentor

    def labels(self, data_sample, model=None):
        seg = getattr(data_sample, 'gt_sem_seg', None)
        if seg is None:
            return None
        ignore = getattr(model, 'ignore_index', None)
        if ignore is None:  # mmseg segmentors keep it on the decode head
            ignore = getattr(getattr(model, 'decode_head', None), 'ignore_index', 255)
        return seg.data, ignore

    def check_data(self, dataloader_cfg) -> None:
        from gdpseg.datasets import check_voc_layout

        check_voc_layout(dataloader_cfg)
