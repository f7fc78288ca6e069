"""A pruning plan: what every pruning method produces and what export consumes.

A :class:`PruningPlan` names, for each channel group, the channels to keep and (optionally) a
factor per channel that export folds into the layers reading the group -- GDP's gate values, a
slimming factor, or nothing. Methods differ only in how they choose; the channel groups, the
counting and the export are shared.

Resolving a plan (:func:`resolve`) decides which layers no longer need to compute anything. A
prunable group that keeps no channel, or only channels scaled by zero, is *silent*: every layer
reading it multiplies it by zero. Its producers are replaced by *carriers* where their handler
allows it (a crop to one channel and a max-pool with the conv's geometry, both stock torch
layers) that keep the tensor shapes the rest of the network expects (one placeholder channel,
read with zero weight). A group read only by carriers is silent too, so a dead residual branch or
ASPP branch loses all its convolutions and leaves ``identity + constant`` or a one-channel
placeholder in the concat. (Stock PyTorch layers cannot carry zero channels: BatchNorm, pooling
and interpolation reject them.)
"""
from dataclasses import dataclass, replace
from typing import Dict, FrozenSet, List, Optional, Sequence, Set

import torch

from .layers import handler_of


@dataclass
class PruningPlan:
    """Channels kept per group and the factors folded into their readers.

    Attributes:
        keep: Per group (in ``ChannelGroups.groups`` order), sorted channel indices to keep;
            may be empty for a prunable group (the group is removed, see module doc).
        scale: Per group, ``None`` or a factor per channel of the group (all ``size`` of them)
            that multiplies the group where conv/linear layers read it. ``None`` for the plan
            itself means no factor anywhere.
        carriers: Producers replaced by carriers; ``None`` until :func:`resolve` fills it.
        silent: Groups that nothing reads any more (one placeholder channel each); filled by
            :func:`resolve`.
    """
    keep: List[torch.Tensor]
    scale: Optional[List[Optional[torch.Tensor]]] = None
    carriers: Optional[FrozenSet[str]] = None
    silent: FrozenSet[int] = frozenset()

    @property
    def resolved(self) -> bool:
        return self.carriers is not None

    def width(self, groups, segs) -> int:
        """Channels of an axis made of ``segs`` that the plan keeps."""
        return sum(len(self.keep[groups.group_index(s)]) * s.expand for s in segs)

    def group_scale(self, i: int) -> Optional[torch.Tensor]:
        return None if self.scale is None else self.scale[i]

    # ----------------------------------------------------------------- files
    def to_dict(self, groups) -> dict:
        """A JSON-ready description: kept channels per group, by name and size (no scales:
        an export folds them into its weights)."""
        plan = resolve(groups, self)
        return dict(format='gdpseg.plan/1',
                    groups=[dict(name=g.name, size=g.size, prunable=g.prunable,
                                 keep=[int(i) for i in k])
                            for g, k in zip(groups.groups, plan.keep)],
                    carriers=sorted(plan.carriers), silent=sorted(plan.silent))

    @classmethod
    def from_dict(cls, data: dict, groups) -> 'PruningPlan':
        """The plan of :meth:`to_dict`, checked against ``groups`` (the same model's)."""
        if data.get('format') != 'gdpseg.plan/1':
            raise ValueError(f"not a gdpseg plan (format={data.get('format')!r}, expected "
                             "'gdpseg.plan/1')")
        entries = data['groups']
        mismatch = next(((e['name'], e['size'], g.name, g.size) for e, g in
                         zip(entries, groups.groups) if (e['name'], e['size']) != (g.name, g.size)),
                        None)
        if len(entries) != len(groups.groups) or mismatch:
            raise ValueError(
                f'the plan does not fit this model: it has {len(entries)} groups, the model '
                f'{len(groups.groups)}' + (f'; first difference: plan {mismatch[:2]}, model '
                                           f'{mismatch[2:]}' if mismatch else '') +
                '. Build the model from the config the plan was exported with.')
        keep = []
        for e, g in zip(entries, groups.groups):
            k = torch.tensor(sorted(e['keep']), dtype=torch.long)
            if len(k) and (k.min() < 0 or k.max() >= g.size or len(set(e['keep'])) != len(k)):
                raise ValueError(f'plan keeps invalid channels {e["keep"]} of group {g.name}')
            if not g.prunable and len(k) != g.size:
                raise ValueError(f'plan prunes fixed group {g.name}')
            keep.append(k)
        names = {rec for rec in groups.graph.modules}
        carriers = frozenset(data.get('carriers', ()))
        if not carriers <= names:
            raise ValueError(f'plan replaces unknown layers {sorted(carriers - names)}')
        silent = frozenset(int(i) for i in data.get('silent', ()))
        return cls(keep, None, carriers, silent)


def full_plan(groups) -> PruningPlan:
    """Every channel kept, no factor."""
    return PruningPlan([torch.arange(g.size) for g in groups.groups])


def keep_by_score(groups, keep_masks: Sequence[torch.Tensor],
                  scores: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """Channels to keep per group: those in ``keep_masks``, at least ``min_channels``, rounded
    up to a multiple of ``channel_multiple`` with the best-scored of the others (fillers; a
    method scales them by its factor, e.g. GDP's zero gate). Fixed groups keep everything."""
    out = []
    m = groups.channel_multiple
    for g, mask, score in zip(groups.groups, keep_masks, scores):
        if not g.prunable:
            out.append(torch.arange(g.size))
            continue
        keep = torch.nonzero(mask).flatten()
        if len(keep) == 0:  # removed: resolve() gives it its placeholder channel
            out.append(keep)
            continue
        need = max(len(keep), groups.min_channels)
        need = min(g.size, -(-need // m) * m)
        if len(keep) < need:
            # strongest first, then lowest index: deterministic among equal scores
            order = sorted(range(g.size), key=lambda i: (-abs(float(score[i])), i))
            keep = torch.tensor(sorted(order[:need]))
        out.append(keep)
    return out


# ----------------------------------------------------------------- resolution
@dataclass
class _Structure:
    """The parts of resolution that follow from the graph alone (computed once per model)."""
    producers: Dict[int, List[str]]  # group index -> layers producing it
    readers: Dict[int, List[str]]  # group index -> consumer layers reading it
    replaceable: Set[str]  # producers a carrier can stand in for


def _structure(groups) -> _Structure:
    def build():
        modules = dict(groups.model.named_modules())
        producers: Dict[int, List[str]] = {}
        readers: Dict[int, List[str]] = {}
        replaceable: Set[str] = set()
        for rec in groups.graph.modules.values():
            handler = handler_of(rec.kind)
            for s in rec.out_segs or ():
                producers.setdefault(groups.group_index(s), []).append(rec.name)
            if rec.out_segs and len(rec.out_segs) == 1 and rec.out_segs[0].expand == 1 and \
                    handler.can_carry(modules[rec.name], rec):
                replaceable.add(rec.name)
            if handler.consumer:
                for s in rec.in_segs:
                    readers.setdefault(groups.group_index(s), []).append(rec.name)
        return _Structure(producers, readers, replaceable)
    return groups.cached('plan_structure', build)


def _is_silent(plan: PruningPlan, i: int) -> bool:
    keep, scale = plan.keep[i], plan.group_scale(i)
    return len(keep) == 0 or (scale is not None and not torch.any(scale[keep] != 0))


def resolve(groups, plan: PruningPlan) -> PruningPlan:
    """The plan with its carriers found and every silent group given one placeholder channel
    (the kept channel with the largest factor, else channel 0). Resolved plans pass through."""
    if plan.resolved:
        return plan
    if len(plan.keep) != len(groups.groups):
        raise ValueError(f'plan has {len(plan.keep)} groups, the model {len(groups.groups)}')
    st = _structure(groups)
    silent = {i for i, g in enumerate(groups.groups) if g.prunable and _is_silent(plan, i)}
    carriers: Set[str] = set()
    changed = True
    while changed:
        changed = False
        for i in sorted(silent):
            for name in st.producers.get(i, []):
                if name not in carriers and name in st.replaceable:
                    carriers.add(name)
                    changed = True
        for i, g in enumerate(groups.groups):  # groups that only carriers read fall silent
            if g.prunable and i not in silent and st.readers.get(i) and \
                    all(r in carriers for r in st.readers[i]):
                silent.add(i)
                changed = True
    keep = list(plan.keep)
    for i in silent:
        k, scale = plan.keep[i], plan.group_scale(i)
        if len(k) == 0:
            keep[i] = torch.zeros(1, dtype=torch.long)
        elif scale is None:
            keep[i] = k[:1]
        else:
            keep[i] = k[torch.argmax(scale[k].abs())].view(1)
    scale = plan.scale
    if scale is not None or any(len(plan.keep[i]) == 0 for i in silent):
        # a removed group's placeholder is read with factor zero
        scale = list(scale) if scale is not None else [None] * len(keep)
        for i in silent:
            if len(plan.keep[i]) == 0:
                scale[i] = torch.zeros(groups.groups[i].size)
    return replace(plan, keep=keep, scale=scale, carriers=frozenset(carriers),
                   silent=frozenset(silent))


# ----------------------------------------------------------------- counting
def export_widths(groups, plan: PruningPlan) -> List[int]:
    """Channels per group that the export of ``plan`` computes: a silent group's placeholder
    channel (read with weight zero) counts as 0."""
    plan = resolve(groups, plan)
    return [0 if i in plan.silent else len(k) for i, k in enumerate(plan.keep)]


def plan_flops(groups, plan: PruningPlan) -> int:
    """conv+linear multiply-adds of the export of ``plan`` (traced input), as mmengine's
    analyzer counts them on that export."""
    plan = resolve(groups, plan)
    total = 0
    for call in groups.counted_calls():
        if call.module in plan.carriers:
            continue
        total += handler_of(call.kind).flops(call, plan.width(groups, call.in_segs),
                                             plan.width(groups, call.out_segs))
    return int(total)


def plan_params(groups, plan: PruningPlan) -> int:
    """Parameters of the export of ``plan``."""
    plan = resolve(groups, plan)
    modules = dict(groups.model.named_modules())
    total = sum(p.numel() for p in groups.model.parameters())
    for rec in groups.graph.modules.values():
        module = modules[rec.name]
        total -= sum(p.numel() for p in module.parameters(recurse=False))
        if rec.name in plan.carriers:
            continue
        cout = plan.width(groups, rec.out_segs) if rec.out_segs else 0
        total += handler_of(rec.kind).params(module, rec, plan.width(groups, rec.in_segs or ()),
                                             cout)
    return int(total)
