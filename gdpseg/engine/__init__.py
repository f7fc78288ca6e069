"""MMEngine glue: GDP hooks, the gate optimizer group, checkpoint loading."""
from .checkpoint import allow_mmengine_checkpoints
from .hooks import GDPHook, GDPVisualHook
from .optimizers import GDPOptimWrapperConstructor

__all__ = ['allow_mmengine_checkpoints', 'GDPHook', 'GDPVisualHook',
           'GDPOptimWrapperConstructor']
