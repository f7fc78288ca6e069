from .base import PruningAlgorithm
from .gdp_algorithm import GDPAlgorithm
from .one_shot import OneShotPruning

__all__ = ['GDPAlgorithm', 'OneShotPruning', 'PruningAlgorithm']
