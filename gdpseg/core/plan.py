"""What export keeps: channels per group, and layers that no longer need to compute anything.

A prunable group whose gates are all zero is *silent*: every layer reading it multiplies it by
zero. Its producing 2-d convolutions are replaced by a *carrier* -- a crop to one channel and a
max-pool with the conv's geometry, both stock torch layers -- that only keeps the tensor shapes the
rest of the network expects (one placeholder channel, read with zero weight). A group read only
by carriers is silent too, so a dead residual branch or ASPP branch loses all its convolutions
and leaves ``identity + constant`` or a one-channel placeholder in the concat. (Stock PyTorch
layers cannot carry zero channels: BatchNorm, pooling and interpolation reject them.)
"""
from dataclasses import dataclass, field
from typing import Dict, List, Set

import torch
import torch.nn as nn

from .graph import Seg


@dataclass
class ExportPlan:
    """Channels kept per group (by group index) and the producers replaced by carriers."""
    keep: List[torch.Tensor]
    carriers: Set[str] = field(default_factory=set)

    def width(self, gates, segs) -> int:
        return sum(len(self.keep[gates.group_index(s)]) * s.expand for s in segs)


def _keep(gates, g, a):
    """Non-zero α, at least ``min_channels``, rounded up to ``channel_multiple`` with fillers
    (zero gates fold to zero weights, so fillers change nothing but kernel shapes)."""
    if not g.prunable:
        return torch.arange(g.size)
    keep = torch.nonzero(a).flatten()
    m = gates.channel_multiple
    need = max(len(keep), gates.min_channels, 1)
    need = min(g.size, -(-need // m) * m)
    if len(keep) < need:
        # strongest first, then lowest index: deterministic among zero gates
        order = sorted(range(g.size), key=lambda i: (-abs(float(a[i])), i))
        keep = torch.tensor(sorted(order[:need]))
    return keep


def carrier_geometry(module: nn.Module, rec):
    """The max-pool that gives a conv's output shape, or None if the conv cannot be replaced."""
    if type(module) is not nn.Conv2d or module.groups != 1 or rec.transposed:
        return None
    if rec.out_spatial == rec.in_spatial and module.stride == (1, 1):
        return nn.Identity()
    if isinstance(module.padding, str):
        return None
    pool = nn.MaxPool2d(module.kernel_size, module.stride, module.padding, module.dilation)
    try:  # torch limits the padding of pooling to half its effective kernel
        out = pool(torch.zeros(1, 1, *rec.in_spatial)).shape[2:]
    except RuntimeError:
        return None
    return pool if tuple(out) == tuple(rec.out_spatial) else None


@dataclass
class _Structure:
    """The parts of a plan that follow from the graph alone (computed once per gate set)."""
    producers: Dict[int, List[str]]  # group index -> layers producing it
    readers: Dict[int, List[str]]  # group index -> conv/linear layers reading it
    replaceable: Set[str]  # producers a carrier can stand in for


def _structure(gates) -> _Structure:
    cached = getattr(gates, '_plan_structure', None)
    if cached is not None:
        return cached
    modules = dict(gates._model[0].named_modules())
    producers: Dict[int, List[str]] = {}
    readers: Dict[int, List[str]] = {}
    replaceable: Set[str] = set()
    for rec in gates.graph.modules.values():
        if rec.out_node is not None:
            producers.setdefault(gates.group_index(Seg(rec.out_node)), []).append(rec.name)
            if carrier_geometry(modules[rec.name], rec) is not None:
                replaceable.add(rec.name)
        if rec.kind in ('conv', 'linear'):
            for s in rec.in_segs:
                readers.setdefault(gates.group_index(s), []).append(rec.name)
    gates._plan_structure = _Structure(producers, readers, replaceable)
    return gates._plan_structure


def make_plan(gates) -> ExportPlan:
    """Channels to keep and carriers, for ``gates.flops()`` and :func:`prune` alike."""
    st = _structure(gates)
    alphas = [g.alpha.detach() for g in gates.groups]
    silent = {i for i, g in enumerate(gates.groups) if g.prunable and
              not torch.any(alphas[i] != 0)}
    carriers: Set[str] = set()
    changed = True
    while changed:
        changed = False
        for i in sorted(silent):
            for name in st.producers.get(i, []):
                if name not in carriers and name in st.replaceable:
                    carriers.add(name)
                    changed = True
        for i, g in enumerate(gates.groups):  # groups that only carriers read fall silent
            if g.prunable and i not in silent and st.readers.get(i) and \
                    all(r in carriers for r in st.readers[i]):
                silent.add(i)
                changed = True
    # a silent group keeps exactly the one placeholder channel its carriers produce
    keep = [torch.argmax(a.abs()).view(1) if i in silent else _keep(gates, g, a)
            for i, (g, a) in enumerate(zip(gates.groups, alphas))]
    return ExportPlan(keep, carriers)


def plan_flops(gates, plan: ExportPlan) -> int:
    """conv+linear multiply-adds of the export described by ``plan`` (traced input)."""
    total = 0
    for call in gates.counted_calls():
        if call.module in plan.carriers:
            continue
        cin = plan.width(gates, call.in_segs)
        if call.depthwise:
            total += call.coef * cin
        else:
            total += call.coef * cin * plan.width(gates, call.out_segs)
    return int(total)


def build_carrier(module: nn.Conv2d, rec, in_width: int) -> nn.Module:
    """One placeholder channel in the conv's output shape, computed without the conv."""
    crop = nn.ConstantPad3d((0, 0, 0, 0, 0, 1 - in_width), 0.0)  # channels -> 1
    return nn.Sequential(crop, carrier_geometry(module, rec))

