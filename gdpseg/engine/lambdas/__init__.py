"""λ controllers of GDPHook: what weight the resource gets at each proximal step."""
from .constant import ConstantLambda

__all__ = ['ConstantLambda']
