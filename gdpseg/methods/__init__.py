"""The pruning methods, each on the engine's channel groups, plans and export.

GDP is the package :mod:`gdpseg.methods.gdp`; every other method is one module here:
:mod:`.one_shot` (L1 / BN-γ / random scores, PFEC), :mod:`.training_time` (Network Slimming,
Soft Filter Pruning), :mod:`.continuous_sparsification` (its growing mode: :mod:`.growing`),
:mod:`.bwcp` (its batch whitening: :mod:`.batch_whitening`), :mod:`.smooth_l0` (GDP's naive-SL0
ablation); the width search is the package :mod:`.search`. :mod:`.importance` (channel scores,
a plan at a FLOPs ratio) and :mod:`.soft` (zeroing dropped channels) are what they share.
"""
from .batch_whitening import BatchWhitening
from .bwcp import BWCP, ActivationProbabilityGates
from .continuous_sparsification import ContinuousSparsification, SigmoidGates
from .gdp import GateSet, GDPAlgorithm, KernelGDP, attach_gates
from .growing import GrowingSparsification, SwitchGates
from .importance import SCORES, bn_gamma, filter_l1, plan_at_ratio, random_scores
from .one_shot import OneShotPruning
from .search import SlimmableNetwork, greedy_search
from .smooth_l0 import NaiveSL0
from .soft import zero_dropped
from .training_time import NetworkSlimming, SoftFilterPruning

__all__ = ['ActivationProbabilityGates', 'BWCP', 'BatchWhitening', 'ContinuousSparsification',
           'GDPAlgorithm', 'GateSet', 'GrowingSparsification', 'KernelGDP', 'NaiveSL0',
           'NetworkSlimming', 'OneShotPruning', 'SCORES', 'SigmoidGates', 'SlimmableNetwork',
           'SoftFilterPruning', 'SwitchGates', 'attach_gates', 'bn_gamma', 'filter_l1',
           'greedy_search', 'plan_at_ratio', 'random_scores', 'zero_dropped']
