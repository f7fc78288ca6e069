"""Object detection (mmdet detectors): COCO data check, bbox mAP line, drawn predictions."""
import os.path as osp

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
    draw_types = ('mmdet.DetVisualizationHook', 'mmdet.DetLocalVisualizer')
    headline = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75')

    def model_class(self):
        from mmdet.models.detectors.base import BaseDetector

        return BaseDetector

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

    def format_metrics(self, metrics: dict) -> str:
        return super().format_metrics(metrics) or \
            '(no metrics: the detector predicted nothing above its score threshold)'
