"""Check that the export of a plan computes what the model computes with the plan applied.

The trace decides which channels may be removed; an op it cannot see (a compiled extension that
reads channels, a module attribute that fixes a size) could make an export disagree with the
model. :func:`verify_groups` catches such a disagreement when the groups are found, not after
training: it exports a random plan with random factors, compares it with the model whose
consumers see the same factors, finds the groups that cause any difference by halving, and fixes
them (with a warning naming them).

An image input of a fully convolutional model is checked on a 64-pixel crop of the sides that
are larger multiples of 32 (strides up to 32 still divide it): which channels an export keeps
does not depend on the spatial size, and the check then costs 1/64 of two passes at 512². A
model that does not run on the crop (a linear layer on flattened pixels, a position embedding of
a fixed size) is checked at the full size.
"""
import warnings
from typing import List, Optional, Sequence

import torch

from .slicing import prune
from .forward import call_forward
from .layers import handler_of
from .nested import max_difference
from .plan import PruningPlan, resolve


class ExportMismatchError(RuntimeError):
    """The export of a plan does not compute what the model computes with the plan applied."""


def _factor_vector(groups, plan: PruningPlan, segs) -> torch.Tensor:
    def factors(i):
        vec = torch.zeros(groups.groups[i].size)
        scale = plan.group_scale(i)
        k = plan.keep[i]
        vec[k] = scale[k].float() if scale is not None else 1.0
        return vec
    return groups.along(segs, factors)


@torch.no_grad()
def masked_outputs(groups, plan: PruningPlan, example_inputs: tuple, forward_fn=None):
    """Outputs of the model with every conv/linear reading its input groups multiplied by the
    plan's factors (zero for channels the plan removes), and live-dependent members (LayerNorm
    over channels) computing on the kept channels alone: what the export must compute."""
    plan = resolve(groups, plan)
    model = groups.model
    modules = dict(model.named_modules())
    handles = []
    for rec in groups.graph.modules.values():
        handler = handler_of(rec.kind)
        if not handler.consumer or all(not groups.group_of(s).prunable for s in rec.in_segs):
            continue
        vec = _factor_vector(groups, plan, rec.in_segs)
        dim = handler.gate_dims(rec)[1]

        def hook(module, args, vec=vec, dim=dim):
            x = args[0]
            shape = [1] * x.dim()
            shape[dim] = -1
            return (x * vec.to(x).view(shape), *args[1:])
        handles.append(modules[rec.name].register_forward_pre_hook(hook))

    def kept_along(segs):  # members that see only the kept channels
        mask = groups.along(segs, lambda i: torch.zeros(
            groups.groups[i].size, dtype=torch.bool).index_fill_(0, plan.keep[i], True))
        return lambda: mask
    handles += groups.live_hooks(kept_along)
    was_training = model.training
    model.eval()
    try:
        return call_forward(model, example_inputs, forward_fn)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)


@torch.no_grad()
def export_difference(groups, plan: PruningPlan, example_inputs: tuple,
                      forward_fn=None, reference=None) -> float:
    """Largest relative difference between the export of ``plan`` and the masked model
    (``reference``: the masked model's outputs, when already computed)."""
    ref = (masked_outputs(groups, plan, example_inputs, forward_fn) if reference is None
           else reference)
    pruned = prune(groups.model, groups, plan, share_tensors=True)  # thrown away below
    pruned.eval()  # not chained: some models' train() returns None (mmpretrain's ViT)
    out = call_forward(pruned, example_inputs, forward_fn)
    return max_difference(ref, out)


def _random_patterns(groups, seed: int, dead: float = 0.2):
    """Per prunable group: kept channels and factors (a share ``dead`` of the groups that do
    not cut the network removed entirely)."""
    gen = torch.Generator().manual_seed(seed)
    cut = set(groups.cut_groups())
    patterns = {}
    for i, g in enumerate(groups.groups):
        if not g.prunable:
            continue
        scale = torch.rand(g.size, generator=gen) * 1.5 + 0.25
        mask = torch.rand(g.size, generator=gen) >= 0.35
        if i not in cut and float(torch.rand(1, generator=gen)) < dead:
            mask[:] = False  # a dead group: its producers become carriers
        elif not mask.any():
            mask[0] = True
        patterns[i] = (torch.nonzero(mask).flatten(), scale)
    return patterns


def random_plan(groups, seed: int = 0, dead: float = 0.2) -> PruningPlan:
    """A plan that keeps about 65 % of every prunable group's channels with random factors in
    [0.25, 1.75], and removes a share ``dead`` of the groups that do not cut the network (dead
    branches can together leave an output constant: use ``dead=0`` to check that an output
    still depends on every group)."""
    patterns = _random_patterns(groups, seed, dead)
    return _plan(groups, patterns, sorted(patterns))


def _plan(groups, patterns, subset) -> PruningPlan:
    keep = [torch.arange(g.size) for g in groups.groups]
    scale: List[Optional[torch.Tensor]] = [None] * len(keep)
    for i in subset:
        keep[i], scale[i] = patterns[i]
    return PruningPlan(keep, scale)


_CROP = 64  # the crop's side: a multiple of 32, so any stride up to 32 still divides it


def cropped_inputs(example_inputs: tuple) -> Optional[tuple]:
    """The inputs with the first one, an image batch ``(N, C, H, W)``, cropped to its top-left
    64 pixels along each side that is a larger multiple of 32; None when nothing is cropped."""
    x = example_inputs[0] if example_inputs else None
    if not (torch.is_tensor(x) and x.dim() == 4 and x.is_floating_point()):
        return None
    h, w = (_CROP if s % 32 == 0 and s > _CROP else s for s in x.shape[-2:])
    if (h, w) == tuple(x.shape[-2:]):
        return None
    return (x[..., :h, :w].contiguous(), *example_inputs[1:])


def _masked_on_crop(groups, patterns, example_inputs: tuple, forward_fn):
    """The cropped inputs and the masked model's outputs on them for the plan of every
    pattern, or None when the model does not run on the crop (the masked pass is the probe)."""
    small = cropped_inputs(example_inputs)
    if small is None or not patterns:
        return None
    try:
        return small, masked_outputs(groups, _plan(groups, patterns, sorted(patterns)), small,
                                     forward_fn)
    except Exception:  # any failure (a size assert, a shape error) means: not on this crop
        return None


def verify_groups(groups, example_inputs: tuple, forward_fn=None, seed: int = 0,
                  rtol: float = 1e-3, crop: bool = True) -> List[int]:
    """Fix the groups whose pruning makes the export differ from the model; return them.

    Args:
        crop: Check on :func:`cropped_inputs` when the model runs on them (1/64 of the
            time at 512²); False: always on ``example_inputs`` as they are.

    Raises:
        ExportMismatchError: when the export still differs with those groups fixed.
    """
    first = _random_patterns(groups, seed)
    cropped = _masked_on_crop(groups, first, example_inputs, forward_fn) if crop else None
    first_ref = None  # the masked outputs of the first full plan: the crop's probe computed them
    if cropped is not None:
        example_inputs, first_ref = cropped

    def differs(subset: Sequence[int], patterns, ref=None) -> bool:
        try:
            return export_difference(groups, _plan(groups, patterns, subset), example_inputs,
                                     forward_fn, reference=ref) > rtol
        except (RuntimeError, IndexError, ValueError):  # the export could not even run: a
            return True  # shape disagreement (a conv's channels, a split into fewer parts)

    def culprits(subset: List[int], patterns, ref=None) -> List[int]:
        if not differs(subset, patterns, ref):
            return []
        if len(subset) == 1:
            return subset
        half = len(subset) // 2
        found = culprits(subset[:half], patterns) + culprits(subset[half:], patterns)
        return found or subset  # they differ only together: keep them all

    # a random plan may happen to keep every channel of a culprit: a few plans, each on the
    # groups still prunable, before giving up
    found: List[int] = []
    for attempt in range(_ROUNDS):
        patterns = first if attempt == 0 else _random_patterns(groups, seed + attempt)
        if not patterns:
            break
        new = culprits(sorted(patterns), patterns, first_ref if attempt == 0 else None)
        if not new:
            break
        found += new
        for i in new:
            groups.fix(i, 'its export differs from the model (an op the trace cannot see)')
    if not found:
        return []
    names = ', '.join(groups.groups[i].name for i in found)
    warnings.warn(f'gdpseg: pruning {names} changes what the export computes (an op the '
                  'trace cannot see reads them); they are kept (not prunable)', stacklevel=3)
    left = _random_patterns(groups, seed + _ROUNDS)  # the groups still prunable (maybe none)
    if differs(sorted(left), left):
        raise ExportMismatchError(
            'the export of a random plan differs from the model even with '
            f'{names} fixed; trace with strict=True to see the unmodelled ops, or '
            'exclude the layers around them (exclude=[...])')
    return found


_ROUNDS = 3  # random plans verify_groups tries


__all__ = ['ExportMismatchError', 'cropped_inputs', 'export_difference', 'masked_outputs',
           'random_plan', 'verify_groups']
