"""MMEngine glue every method shares: hooks, checkpoints, export directories, task adapters.
(GDP's own hooks, λ controllers and optimizer group are in :mod:`gdpseg.methods.gdp`.)"""
from .checkpoint import allow_mmengine_checkpoints
from .hooks import RNGStateHook
from .schedulers import RewoundCosineLR
from .tasks import SegmentationTask, TaskAdapter

__all__ = ['allow_mmengine_checkpoints', 'RNGStateHook', 'RewoundCosineLR',
           'TaskAdapter', 'SegmentationTask']
