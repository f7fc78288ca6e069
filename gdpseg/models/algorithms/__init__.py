from .base import PruningAlgorithm, SoftMaskAlgorithm, tensor_mode

__all__ = ['PruningAlgorithm', 'SoftMaskAlgorithm', 'tensor_mode']
