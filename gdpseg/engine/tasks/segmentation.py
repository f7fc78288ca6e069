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

    def export_report(self, groups, plan):
        """One line per ASPP branch: channels kept, or that the branch is pruned away."""
        lines = []
        for i, g in enumerate(groups.groups):
            if 'aspp' not in g.name.lower() or not g.prunable or 'project' in g.name:
                continue
            state = ('pruned: no convolution left (a 1-channel placeholder keeps the concat '
                     'layout)' if i in plan.silent else f'{len(plan.keep[i])}/{g.size} channels')
            lines.append(f'  ASPP branch {g.name}: {state}')
        return [('ASPP', lines)] if lines else []

    def check_data(self, dataloader_cfg) -> None:
        from gdpseg.datasets import check_voc_layout

        check_voc_layout(dataloader_cfg)
