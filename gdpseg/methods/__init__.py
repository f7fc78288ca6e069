"""Pruning methods other than GDP, on the same channel groups, plans and export."""
from .importance import SCORES, bn_gamma, filter_l1, plan_at_ratio, random_scores
from .soft import zero_dropped

__all__ = ['SCORES', 'bn_gamma', 'filter_l1', 'plan_at_ratio', 'random_scores', 'zero_dropped']
