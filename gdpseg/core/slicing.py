"""Export: a plain module with the channels of a plan kept and its factors folded in.

The export is a deep copy of the model (its own classes, torch's layers, no gdpseg type, no hook)
in which every layer touching a pruned group is sliced by its layer handler:

* producers (conv/linear) lose output channels, consumers lose the matching input channels;
* channel-wise members (BN/IN, depthwise convs) are sliced alike;
* each consumer's weight is multiplied by the plan's factors of the channels it keeps (GDP: the
  gate values), so the export computes what the gated model computes in eval mode.

Layers whose output nobody reads any more are replaced by carriers (see :mod:`.plan`): a dead
ASPP branch leaves a one-channel placeholder in the concat, a dead residual branch leaves
``identity + constant``; neither computes a convolution.
"""
import copy
from typing import Optional

import torch
import torch.nn as nn

from .layers import handler_of
from .plan import PruningPlan, resolve


def _positions(groups, plan: PruningPlan, segs):
    """Indices into a channel axis made of ``segs`` that survive, and their factors (None when
    the plan has none for any of these groups)."""
    idx, vals, offset, any_scale = [], [], 0, False
    for s in segs:
        i = groups.group_index(s)
        g, k = groups.groups[i], plan.keep[i]
        scale = plan.group_scale(i)
        any_scale |= scale is not None
        factor = scale[k] if scale is not None else torch.ones(len(k))
        # channel c of the group covers positions c*expand ... c*expand+expand-1
        pos = (k.unsqueeze(1) * s.expand + torch.arange(s.expand).unsqueeze(0)).flatten()
        idx.append(pos + offset)
        vals.append(factor.repeat_interleave(s.expand))
        offset += g.size * s.expand
    return torch.cat(idx), (torch.cat(vals) if any_scale else None)


def _parents(root: nn.Module) -> dict:
    """``id(child) -> [(parent, name), ...]``: a layer shared by several parents (one conv for
    every level of a detection head) is one record of the trace under its first name only, and
    is replaced under each."""
    index: dict = {}
    for parent in root.modules():
        for name, child in parent.named_children():
            index.setdefault(id(child), []).append((parent, name))
    return index


@torch.no_grad()
def prune(model: nn.Module, groups, plan: Optional[PruningPlan] = None,
          share_tensors: bool = False) -> nn.Module:
    """Return the pruned copy of ``model`` described by ``plan``; ``model`` is left unchanged.

    Args:
        model: The model the groups were traced on.
        groups: Its :class:`~gdpseg.core.groups.ChannelGroups`, or any plan producer with
            ``channel_groups`` and ``plan()`` (a GDP :class:`GateSet`: ``prune(model, gates)``).
        plan: The plan; defaults to ``groups.plan()`` for a plan producer.
        share_tensors: Copy the modules but not their parameters and buffers: the layers the
            plan leaves whole then share them with ``model`` (for a throw-away export, such
            as the export check; a user's export must own its weights). Safe because every
            handler replaces a sliced tensor instead of writing into it.

    Returns:
        nn.Module: A plain module. With GDP's plan it computes the gated model's eval-mode
        function.
    """
    if plan is None:
        if not hasattr(groups, 'plan'):
            raise TypeError('prune(model, groups, plan): pass the plan to export, or a plan '
                            'producer such as the GateSet of attach_gates')
        plan = groups.plan()
    groups = getattr(groups, 'channel_groups', groups)
    if groups.model is not model:
        raise ValueError('the groups were traced on another model; pass the model given to '
                         'trace_groups/attach_gates')
    plan = resolve(groups, plan)
    # a deepcopy's memo that maps a tensor to itself leaves it shared
    memo = ({id(t): t for t in (*model.parameters(), *model.buffers())}
            if share_tensors else {})
    with groups.hooks_removed():  # the copy must carry no method's hooks
        pruned = copy.deepcopy(model, memo)
    modules = dict(pruned.named_modules())
    parents = _parents(pruned) if plan.carriers else {}
    for rec in groups.graph.modules.values():
        m = modules[rec.name]
        handler = handler_of(rec.kind)
        if rec.name in plan.carriers:
            new = handler.carrier(m, rec, plan.width(groups, rec.in_segs))
            for parent, name in parents[id(m)]:
                setattr(parent, name, new)
            continue
        in_idx, in_scale = _positions(groups, plan, rec.in_segs)
        out_idx = _positions(groups, plan, rec.out_segs)[0] if rec.out_segs else None
        handler.prune(m, rec, in_idx, in_scale if handler.consumer else None, out_idx)
    for mname, attr, parts in groups.graph.size_attributes:  # explicit split sizes
        old = getattr(modules[mname], attr)
        unit = groups.graph.attribute_units.get((mname, attr), 1)  # a head count
        new = [plan.width(groups, segs) // unit for segs in parts]
        # a list of sizes, or one int: one part's width, or the whole width it is split from
        setattr(modules[mname], attr, sum(new) if isinstance(old, int) else type(old)(new))
    return pruned
