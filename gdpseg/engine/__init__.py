"""MMEngine glue: GDP hooks, λ controllers, the gate optimizer group, export, task adapters."""
from .checkpoint import allow_mmengine_checkpoints
from .hooks import GDPHook, GDPVisualHook, RNGStateHook
from .lambdas import ConstantLambda, TargetLambda
from .optimizers import GDPOptimWrapperConstructor
from .schedulers import RewoundCosineLR
from .tasks import SegmentationTask, TaskAdapter

__all__ = ['allow_mmengine_checkpoints', 'GDPHook', 'GDPVisualHook', 'RNGStateHook',
           'ConstantLambda', 'TargetLambda', 'GDPOptimWrapperConstructor', 'RewoundCosineLR',
           'TaskAdapter', 'SegmentationTask']
