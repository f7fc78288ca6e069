"""Object detection (mmdet detectors): COCO data check, bbox mAP line, drawn predictions."""
import os.path as osp
import uuid

from gdpseg.datasets.find import datasets_of_type
from gdpseg.registry import TASKS

from .base import TaskAdapter

COCO_HELP = ('A COCO-layout dataset is expected: DATA_ROOT/<ann_file> (COCO json) and the '
             'images under DATA_ROOT/<data_prefix.img>. For a dry run without COCO:\n  python -c '
             '"from gdpseg.datasets import make_digits_coco; '
             'make_digits_coco(\'data/digits_coco\')"')


@TASKS.register_module()
class DetectionTask(TaskAdapter):
    name = 'detection'
    priority = 10

    def matches(self, model) -> bool:
        from mmdet.models.detectors.base import BaseDetector

        return isinstance(model, BaseDetector)

    def matches_class(self, cls) -> bool:
        from mmdet.models.detectors.base import BaseDetector

        return isinstance(cls, type) and issubclass(cls, BaseDetector)

    def check_data(self, dataloader_cfg) -> None:
        problems = []
        for ds in datasets_of_type(dataloader_cfg, 'CocoDataset'):
            root = ds.get('data_root', '') or ''
            ann = osp.join(root, ds.get('ann_file', ''))
            if not osp.isfile(ann):
                problems.append(f'annotation file {ann} is missing')
            prefix = ds.get('data_prefix') or {}
            img = osp.join(root, prefix.get('img', '') if isinstance(prefix, dict) else prefix)
            if not osp.isdir(img):
                problems.append(f'image folder {img} is missing')
        if problems:
            raise FileNotFoundError('The dataset is incomplete:\n  - ' +
                                    '\n  - '.join(dict.fromkeys(problems)) + '\n' + COCO_HELP)

    def show(self, cfg, show_dir: str) -> None:
        cfg.default_hooks.visualization = dict(type='mmdet.DetVisualizationHook', draw=True,
                                               interval=1)
        cfg.visualizer = dict(cfg.get('visualizer') or {}, type='mmdet.DetLocalVisualizer',
                              vis_backends=[dict(type='LocalVisBackend')], save_dir=show_dir,
                              name=f'show_{uuid.uuid4().hex[:8]}')

    def format_metrics(self, metrics: dict) -> str:
        keys = [k for k in metrics if k.endswith(('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75'))]
        rest = {k: v for k, v in metrics.items() if k not in keys}
        head = '  '.join(f'{k}: {metrics[k]}' for k in keys)
        return (head + ('  ' + super().format_metrics(rest) if rest else '')).strip() or \
            '(no metrics: the detector predicted nothing above its score threshold)'
