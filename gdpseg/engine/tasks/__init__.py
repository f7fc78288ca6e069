"""Task adapters: what the tools (test, prune, train) need to know per task family."""
from .base import TaskAdapter, check_data, task_for, task_for_cfg
from .classification import ClassificationTask
from .detection import DetectionTask
from .segmentation import SegmentationTask
from .style_transfer import StyleTransferTask

__all__ = ['TaskAdapter', 'ClassificationTask', 'DetectionTask', 'SegmentationTask',
           'StyleTransferTask', 'task_for', 'task_for_cfg', 'check_data']
