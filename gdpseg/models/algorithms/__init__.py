from .base import PruningAlgorithm
from .gdp_algorithm import GDPAlgorithm

__all__ = ['GDPAlgorithm', 'PruningAlgorithm']
