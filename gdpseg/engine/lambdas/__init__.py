"""λ controllers of GDPHook: what weight the resource gets at each proximal step."""
from .constant import ConstantLambda
from .target import TargetLambda

__all__ = ['ConstantLambda', 'TargetLambda']
