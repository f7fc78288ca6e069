"""Task adapters: what the tools (test, prune, train) need to know per task family."""
from .base import TaskAdapter, check_data, task_for
from .segmentation import SegmentationTask

__all__ = ['TaskAdapter', 'SegmentationTask', 'task_for', 'check_data']
