"""Soft pruning: zero the filters a plan drops, in place, and let training move them again.

Soft Filter Pruning (He et al. 2018) zeroes the filters with the smallest L1 norms at the end of
every epoch and keeps training all of them, so a zeroed filter can recover; only the last
zeroing is final. :func:`zero_dropped` is that step for any plan on the engine's groups.
"""
import torch

from gdpseg.core import PruningPlan, handler_of


def _dropped(groups, plan: PruningPlan, i: int) -> torch.Tensor:
    """The channels of group ``i`` the plan drops (none of a fixed group)."""
    mask = torch.zeros(groups.groups[i].size, dtype=torch.bool)
    if groups.groups[i].prunable:
        mask[:] = True
        mask[plan.keep[i]] = False
    return mask


@torch.no_grad()
def zero_dropped(groups, plan: PruningPlan) -> int:
    """Zero the weights (and biases) of every conv/linear filter producing a channel the plan
    drops.

    Returns:
        How many layer channels were zeroed.
    """
    modules = dict(groups.model.named_modules())
    zeroed = 0
    for rec in groups.graph.modules.values():
        # layers whose output channels are filters (weight-standardised convs are not: a zero
        # filter has no standard deviation)
        if not rec.out_segs or not handler_of(rec.kind).filters:
            continue
        module = modules[rec.name]
        drop = groups.along(rec.out_segs, lambda i: _dropped(groups, plan, i))
        if not bool(drop.any()):
            continue
        weight = module.weight
        if rec.transposed:
            view = weight.transpose(0, 1)
            view[drop] = 0
        else:
            weight[drop] = 0
        bias = getattr(module, 'bias', None)
        if isinstance(bias, torch.Tensor) and bias.shape[0] == drop.numel():
            bias[drop] = 0
        zeroed += int(drop.sum())
    return zeroed
