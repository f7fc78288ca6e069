"""Channel importance and one-shot plans: the baselines GDP is compared with.

* :func:`filter_l1`: L1 norm of the filters producing each channel (PFEC, Li et al. 2017);
* :func:`bn_gamma`: ``|γ|`` of the BatchNorm following each channel (Network Slimming's
  criterion, Liu et al. 2017; meaningful after its sparsity training);
* :func:`random_scores`: random pruning, the control of both.

:func:`plan_at_ratio` turns scores into a :class:`~gdpseg.core.PruningPlan` whose export has at
most a given share of the network's FLOPs: the same share of channels in every group
(``scope='uniform'``, PFEC's per-layer rule, and a uniform width rescale; the budget the
rounding leaves is filled channel by channel) or one threshold
across groups (``scope='global'``, Network Slimming's rule). Scores of a group's channels sum
over every layer producing (or normalising) them, so coupled groups (residuals) are scored as a
whole.
"""
import math
from typing import Callable, Dict, List

import torch

from gdpseg.core import PruningPlan, full_plan, handler_of, keep_by_score, plan_flops


def add_by_group(groups, segs, values: torch.Tensor, scores: List[torch.Tensor]) -> None:
    """Add per-position ``values`` along an axis made of ``segs`` to the groups' scores
    (differentiable: the scores of a group stay a function of ``values``)."""
    offset = 0
    for s in segs:
        i = groups.group_index(s)
        n = groups.groups[i].size
        part = values[offset:offset + n * s.expand].view(n, s.expand).sum(1).float()
        scores[i] = scores[i] + part
        offset += n * s.expand


def filter_producers(groups):
    """``(module, out_segs, transposed)`` of every layer whose filters produce channels of a
    prunable group (its handler's ``filters``; weight-standardised convs have none: their
    filter norm means nothing)."""
    modules = dict(groups.model.named_modules())
    return [(modules[r.name], r.out_segs, r.transposed) for r in groups.graph.modules.values()
            if r.out_segs and handler_of(r.kind).filters and
            any(groups.group_of(s).prunable for s in r.out_segs)]


def affine_layers(groups, prunable_only: bool = True):
    """``(module, in_segs, scale, shift)`` of every layer that scales and shifts its input
    group per channel (BatchNorm / InstanceNorm with affine parameters: its handler's
    ``affine``), on a prunable group unless ``prunable_only`` is False."""
    modules = dict(groups.model.named_modules())
    out = []
    for rec in groups.graph.modules.values():
        module = modules[rec.name]
        found = handler_of(rec.kind).affine(module)
        if found is None or not rec.in_segs:
            continue
        if prunable_only and not any(groups.group_of(s).prunable for s in rec.in_segs):
            continue
        out.append((module, rec.in_segs, *found))
    return out


def filter_sq_norms(groups, producers) -> List[torch.Tensor]:
    """Per group, per channel: the squared L2 norm of every filter producing it, summed over
    its producers (differentiable in the weights)."""
    sq = [torch.zeros(g.size) for g in groups.groups]
    for module, segs, transposed in producers:
        w = module.weight.transpose(0, 1) if transposed else module.weight
        add_by_group(groups, segs, w.reshape(w.shape[0], -1).pow(2).sum(1), sq)
    return sq


@torch.no_grad()
def filter_l1(groups) -> List[torch.Tensor]:
    """Per group, per channel: L1 norm of the conv/linear filters producing it."""
    modules = dict(groups.model.named_modules())
    scores = [torch.zeros(g.size) for g in groups.groups]
    for rec in groups.graph.modules.values():
        if not rec.out_segs:
            continue
        w = modules[rec.name].weight.detach()
        if rec.transposed:
            w = w.transpose(0, 1)
        add_by_group(groups, rec.out_segs, w.abs().reshape(w.shape[0], -1).sum(1), scores)
    return scores


@torch.no_grad()
def bn_gamma(groups) -> List[torch.Tensor]:
    """Per group, per channel: ``|γ|`` of the affine BatchNorm/InstanceNorm layers on it."""
    scores = [torch.zeros(g.size) for g in groups.groups]
    for _, segs, scale, _ in affine_layers(groups, prunable_only=False):
        add_by_group(groups, segs, scale.detach().abs(), scores)
    return scores


def random_scores(groups, seed: int = 0) -> List[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(g.size, generator=gen) for g in groups.groups]


SCORES: Dict[str, Callable] = {'l1': filter_l1, 'bn': bn_gamma, 'random': random_scores}


def _plan(groups, scores, counts) -> PruningPlan:
    """Keep the ``counts[i]`` best-scored channels of group ``i`` (all of a fixed group)."""
    masks = []
    for g, s, k in zip(groups.groups, scores, counts):
        k = max(1, min(g.size, k)) if g.prunable else g.size
        mask = torch.zeros(g.size, dtype=torch.bool)
        mask[torch.argsort(s, descending=True, stable=True)[:k]] = True
        masks.append(mask)
    return PruningPlan(keep_by_score(groups, masks, scores))


def plan_at_ratio(groups, scores: List[torch.Tensor], ratio: float, scope: str = 'uniform',
                  steps: int = 40, fill: bool = True, resource=None) -> PruningPlan:
    """The plan with the most FLOPs at most ``ratio`` of the full network's, by bisection.

    Args:
        resource: Count another :class:`~gdpseg.core.Resource` than the export's FLOPs
            (e.g. the measured latency model, ``build_resource(dict(type='latency',
            table=PATH), groups)``): the plan then keeps at most ``ratio`` of the full
            network's predicted milliseconds.
        scope: ``'uniform'`` keeps the same share of channels (the best-scored) in every
            prunable group; ``'global'`` keeps the channels scored above one threshold. Every
            prunable group keeps at least one channel.
        fill: With ``scope='uniform'``, then add channels one at a time to the group with the
            smallest share kept while the FLOPs stay within the ratio. The share's rounding
            moves every group at once, so without it a low ratio can land far under its
            budget (6.6 % for 10 % on ResNet-20), and methods would compare at unequal FLOPs.
    """
    if not 0 < ratio <= 1:
        raise ValueError(f'ratio must be in (0, 1], got {ratio}')
    if scope not in ('uniform', 'global'):
        raise ValueError(f"scope must be 'uniform' or 'global', got {scope!r}")
    if resource is None:
        def cost(plan):
            return plan_flops(groups, plan)
        full, unit = groups.full_flops(), 'FLOPs'
    else:
        def cost(plan):
            return resource.plan_value(groups, plan)
        full, unit = cost(full_plan(groups)), type(resource).__name__
    target = ratio * full
    if scope == 'uniform':
        def counts(t):
            return [math.ceil(t * g.size) for g in groups.groups]
        lo, hi = 0.0, 1.0  # share kept
    else:
        def counts(t):
            return [int((s > t).sum()) for s in scores]
        values = torch.cat([s for g, s in zip(groups.groups, scores) if g.prunable] or
                           [torch.zeros(1)])
        lo, hi = float(values.max()), float(values.min()) - 1.0  # threshold: high keeps few
    best = _plan(groups, scores, counts(lo))
    if cost(best) > target:
        raise ValueError(f'a {unit} ratio of {ratio} cannot be reached: one channel in every '
                         f'prunable group already leaves {cost(best) / full:.3f}')
    for _ in range(steps):
        mid = (lo + hi) / 2
        plan = _plan(groups, scores, counts(mid))
        if cost(plan) <= target:
            best, lo = plan, mid
        else:
            hi = mid
    if scope == 'uniform' and fill:
        best = _filled(groups, scores, [max(1, min(g.size, k)) for g, k in
                                        zip(groups.groups, counts(lo))], best, target, cost)
    return best


def _filled(groups, scores, counts, best, target, cost) -> PruningPlan:
    """``best`` grown one channel at a time, always in the open group with the smallest share
    kept; a group whose next channel would pass ``target`` is closed."""
    sizes = [g.size for g in groups.groups]
    open_ = {i for i, g in enumerate(groups.groups) if g.prunable and counts[i] < g.size}
    while open_:
        i = min(open_, key=lambda j: (counts[j] / sizes[j], -sizes[j], j))
        counts[i] += 1
        plan = _plan(groups, scores, counts)
        if cost(plan) <= target:
            best = plan
            if counts[i] == sizes[i]:
                open_.discard(i)
        else:
            counts[i] -= 1
            open_.discard(i)
    return best
