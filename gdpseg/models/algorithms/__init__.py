from .base import PruningAlgorithm
from .gdp_algorithm import GDPAlgorithm
from .one_shot import OneShotPruning
from .training_time import NetworkSlimming, SoftFilterPruning

__all__ = ['GDPAlgorithm', 'NetworkSlimming', 'OneShotPruning', 'PruningAlgorithm',
           'SoftFilterPruning']
