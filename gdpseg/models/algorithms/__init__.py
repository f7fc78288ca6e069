from .base import PruningAlgorithm
from .continuous_sparsification import ContinuousSparsification
from .gdp_algorithm import GDPAlgorithm
from .one_shot import OneShotPruning
from .training_time import NetworkSlimming, SoftFilterPruning

__all__ = ['ContinuousSparsification', 'GDPAlgorithm', 'NetworkSlimming', 'OneShotPruning',
           'PruningAlgorithm', 'SoftFilterPruning']
