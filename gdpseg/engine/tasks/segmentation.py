"""Semantic segmentation (mmseg segmentors, PlainSegmentor): VOC data check, mIoU line."""
import uuid

from gdpseg.registry import TASKS

from .base import TaskAdapter


@TASKS.register_module()
class SegmentationTask(TaskAdapter):
    name = 'segmentation'
    priority = 10

    def matches(self, model) -> bool:
        from mmseg.models.segmentors.base import BaseSegmentor

        return isinstance(model, BaseSegmentor)

    def matches_class(self, cls) -> bool:
        from mmseg.models.segmentors.base import BaseSegmentor

        return isinstance(cls, type) and issubclass(cls, BaseSegmentor)

    def show(self, cfg, show_dir: str) -> None:
        """mmseg's visualization hook draws every prediction next to its ground truth."""
        cfg.default_hooks.visualization = dict(type='mmseg.SegVisualizationHook', draw=True,
                                               interval=1)
        # a visualizer of its own: MMEngine reuses one by name within a process, with the
        # save dir it was first given
        cfg.visualizer = dict(cfg.get('visualizer') or {}, type='mmseg.SegLocalVisualizer',
                              vis_backends=[dict(type='LocalVisBackend')], save_dir=show_dir,
                              name=f'show_{uuid.uuid4().hex[:8]}')

    def check_data(self, dataloader_cfg) -> None:
        from gdpseg.datasets import check_voc_layout

        check_voc_layout(dataloader_cfg)

    def format_metrics(self, metrics: dict) -> str:
        keys = [k for k in ('mIoU', 'aAcc', 'mAcc') if k in metrics]
        rest = {k: v for k, v in metrics.items() if k not in keys}
        head = '  '.join(f'{k}: {metrics[k]}' for k in keys)
        return (head + ('  ' + super().format_metrics(rest) if rest else '')).strip()
