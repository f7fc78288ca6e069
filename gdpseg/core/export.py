"""Export: a plain module with zero-gated channels removed and the other gates folded in.

The export is a deep copy of the model (its own classes, torch's layers, no gdpseg type, no hook)
in which every layer touching a pruned group is sliced:

* producers (conv/linear) lose output channels, consumers lose the matching input channels;
* channel-wise members (BN/IN, depthwise convs) are sliced alike;
* each consumer's weight is multiplied by the gate values of the channels it keeps, so the
  export computes what the gated model computes in eval mode.

Layers whose output nobody reads any more are replaced by carriers (see :mod:`.plan`): a dead
ASPP branch leaves a one-channel placeholder in the concat, a dead residual branch leaves
``identity + constant``; neither computes a convolution.
"""
import copy

import torch
import torch.nn as nn

from .gates import GateSet, polarized_gate
from .graph import Seg
from .plan import build_carrier


def _positions(gates: GateSet, segs, keep):
    """Indices into a channel axis made of ``segs`` that survive, and their gate values."""
    idx, vals, offset = [], [], 0
    for s in segs:
        i = gates.group_index(s)
        g, k = gates.groups[i], keep[i]
        gate = polarized_gate(g.alpha.detach(), float(gates.eps)) if g.prunable else \
            torch.ones(g.size, dtype=g.alpha.dtype)
        # channel c of the group covers positions c*expand ... c*expand+expand-1
        pos = (k.unsqueeze(1) * s.expand + torch.arange(s.expand).unsqueeze(0)).flatten()
        idx.append(pos + offset)
        vals.append(gate[k].repeat_interleave(s.expand))
        offset += g.size * s.expand
    return torch.cat(idx), torch.cat(vals)


def _set(module, name, tensor):
    old = getattr(module, name)
    if isinstance(old, nn.Parameter):
        setattr(module, name, nn.Parameter(tensor.contiguous(), requires_grad=old.requires_grad))
    else:
        setattr(module, name, tensor.contiguous())


@torch.no_grad()
def prune(model: nn.Module, gates: GateSet) -> nn.Module:
    """Return the pruned, gate-folded copy of ``model``; ``model`` itself is left unchanged.

    Args:
        model: The model ``gates`` was attached to.
        gates: Its :class:`GateSet`.

    Returns:
        nn.Module: A plain module computing the gated model's eval-mode function.
    """
    if gates._model[0] is not model:
        raise ValueError('gates were attached to another model; pass the model given to '
                         'attach_gates')
    gates.detach()  # the copy must carry no gate hook
    try:
        pruned = copy.deepcopy(model)
    finally:
        gates.attach()
    plan = gates.plan()
    keep = plan.keep
    modules = dict(pruned.named_modules())
    for rec in gates.graph.modules.values():
        m = modules[rec.name]
        if rec.name in plan.carriers:
            parent, _, child = rec.name.rpartition('.')
            setattr(modules[parent] if parent else pruned, child,
                    build_carrier(m, rec, plan.width(gates, rec.in_segs)))
            continue
        in_idx, in_gate = _positions(gates, rec.in_segs, keep)
        if rec.kind == 'norm':
            for name in ('weight', 'bias', 'running_mean', 'running_var'):
                if isinstance(getattr(m, name, None), torch.Tensor):
                    _set(m, name, getattr(m, name)[in_idx])
            m.num_features = len(in_idx)
            continue
        if rec.kind == 'depthwise':
            _set(m, 'weight', m.weight[in_idx])
            if m.bias is not None:
                _set(m, 'bias', m.bias[in_idx])
            m.in_channels = m.out_channels = m.groups = len(in_idx)
            continue
        out_i = gates.group_index(Seg(rec.out_node))
        out_group, out_idx = gates.groups[out_i], keep[out_i]
        w = m.weight
        in_dim, out_dim = (0, 1) if rec.transposed else (1, 0)
        if getattr(m, 'groups', 1) == 1:
            shape = [1] * w.dim()
            shape[in_dim] = -1
            w = (w.index_select(in_dim, in_idx) * in_gate.to(w.dtype).view(shape))
        w = w.index_select(out_dim, out_idx) if out_group.prunable else w
        _set(m, 'weight', w)
        if m.bias is not None and out_group.prunable:
            _set(m, 'bias', m.bias[out_idx])
        if rec.kind == 'linear':
            m.in_features, m.out_features = w.shape[1], w.shape[0]
        elif rec.transposed:  # weight [C_in, C_out / groups, ...]
            m.in_channels, m.out_channels = w.shape[0], w.shape[1] * m.groups
        else:  # weight [C_out, C_in / groups, ...]
            m.in_channels, m.out_channels = w.shape[1] * m.groups, w.shape[0]
    return pruned
