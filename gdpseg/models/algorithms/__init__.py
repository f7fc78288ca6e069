from .base import PruningAlgorithm
from .bwcp import BWCP, ActivationProbabilityGates
from .continuous_sparsification import ContinuousSparsification
from .gdp_algorithm import GDPAlgorithm
from .kernel_gates import KernelGDP, KernelNormGates
from .one_shot import OneShotPruning
from .smooth_l0 import NaiveSL0
from .training_time import NetworkSlimming, SoftFilterPruning

__all__ = ['ActivationProbabilityGates', 'BWCP', 'ContinuousSparsification', 'GDPAlgorithm',
           'KernelGDP', 'KernelNormGates', 'NaiveSL0', 'NetworkSlimming', 'OneShotPruning',
           'PruningAlgorithm', 'SoftFilterPruning']
