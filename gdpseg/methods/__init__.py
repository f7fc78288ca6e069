"""Pruning methods other than GDP, on the same channel groups, plans and export."""
from .importance import SCORES, bn_gamma, filter_l1, plan_at_ratio, random_scores

__all__ = ['SCORES', 'bn_gamma', 'filter_l1', 'plan_at_ratio', 'random_scores']
