"""GDP gates: one α vector per channel group, g(α) = α² / (α² + ε), applied at every consumer.

A group's gate multiplies the input channels of each conv/linear that reads the group (paper
Fig. 2: the same g₁ appears before both convs a skip connection joins). A forward pre-hook applies
it in whichever form is cheaper for that layer: on the input activation, or on the consumer's
*weight* along its input axis for the duration of the call -- ``conv(g ⊙ x, W) = conv(x, W ⊙ g)``
for zero padding -- which costs one product the size of the weight, independent of batch and
resolution. Either way the module's class and ``state_dict`` stay untouched.

GDP is one producer of pruning plans: :meth:`GateSet.plan` keeps the channels whose α ≠ 0 and
folds their gate values; :func:`gdpseg.core.prune` exports it.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from .graph import Seg
from .groups import ChannelGroups, trace_groups
from .layers import handler_of
from .plan import PruningPlan, full_plan, keep_by_score, plan_flops, plan_params, resolve
from .prox import alternating_prox
from .resource import Resource, build_resource

# A layer's gate goes on its input when the input of this many samples is smaller than its weight
# (low-resolution layers with large weights), else on its weight (high-resolution layers).
ACTIVATION_GATE_BATCH = 16
# Bisection steps of a floored proximal step: λ is found to 2⁻²⁰ of its value.
PROX_BISECTIONS = 20


def polarized_gate(alpha: torch.Tensor, eps) -> torch.Tensor:
    """g_ε(α) = α² / (α² + ε) (paper Eq. 2): exactly 0 at α=0, close to 1 elsewhere."""
    sq = alpha * alpha
    return sq / (sq + eps)


class GateSet(nn.Module):
    """The GDP gates of one model: α per group, ε, the gating hooks and the proximal step.

    Created by :func:`gdpseg.core.attach_gates`. Its parameters ``alphas`` hold one α vector per
    group (in ``groups`` order; those of fixed groups are constant ones and never gate), its
    buffer ``eps`` the current ε.

    Args:
        channel_groups: The groups of the model (:func:`~gdpseg.core.trace_groups`).
        eps: Initial ε.
        init: Initial value of every α.
        resource: The resource the proximal step penalises: a registered name (``'flops'``,
            ``'params'``), ``dict(type=name, ...)`` or a :class:`Resource`.
        keep_connected: The proximal step never zeroes all gates of a group that every path
            from the input to an output crosses (:meth:`ChannelGroups.cut_groups`), nor a set
            of groups that together cut every path (all ASPP branches and the low-level
            projection at once: the fewest of them stay alive,
            :meth:`ChannelGroups.reconnecting`), so the network cannot collapse to a constant;
            a branch (ASPP, residual) may still die while another path is alive.
        max_death_share: Also keep (at least one channel of) every group whose death alone
            would remove more than this share of the network's FLOPs (:func:`death_shares`):
            e.g. a backbone stage's residual trunk in a segmentation network whose low-level
            branch still connects input and output. ``None`` (default, the paper): any group
            outside ``keep_connected`` may die.
    """

    def __init__(self, channel_groups: ChannelGroups, eps: float = 0.1, init: float = 1.0,
                 resource: Union[str, dict, Resource] = 'flops', keep_connected: bool = True,
                 max_death_share: Optional[float] = None):
        super().__init__()
        if max_death_share is not None and not 0 < max_death_share <= 1:
            raise ValueError(f'max_death_share must be in (0, 1] or None, got {max_death_share}')
        self.max_death_share = max_death_share
        if not eps > 0:
            raise ValueError(f'eps must be > 0, got {eps}')
        self.channel_groups = channel_groups
        self.register_buffer('eps', torch.tensor(float(eps), dtype=torch.float64))
        self.alphas = nn.ParameterList([
            nn.Parameter(torch.full((g.size,), float(init)), requires_grad=g.prunable)
            for g in channel_groups.groups])
        self.resource: Resource = build_resource(resource, channel_groups)
        self._full_value = None  # see full_resource_value
        self.keep_connected = bool(keep_connected)
        self._handles = []
        self._stash: Dict[nn.Module, torch.Tensor] = {}
        channel_groups.register_hook_owner(self)
        self.attach()

    # ----------------------------------------------------------------- groups
    @property
    def groups(self):
        """The channel groups (:class:`~gdpseg.core.groups.Group`), aligned with ``alphas``."""
        return self.channel_groups.groups

    @property
    def min_channels(self) -> int:
        return self.channel_groups.min_channels

    @min_channels.setter
    def min_channels(self, value: int) -> None:
        self.channel_groups.min_channels = int(value)

    @property
    def channel_multiple(self) -> int:
        return self.channel_groups.channel_multiple

    @channel_multiple.setter
    def channel_multiple(self, value: int) -> None:
        if value < 1:
            raise ValueError(f'channel_multiple must be >= 1, got {value}')
        self.channel_groups.channel_multiple = int(value)

    def alpha(self, group) -> nn.Parameter:
        """α of a group (a :class:`Group` or its index)."""
        i = group if isinstance(group, int) else self.groups.index(group)
        return self.alphas[i]

    def live(self, group) -> int:
        """Channels of a group whose α is not exactly zero (all, for a fixed group)."""
        i = group if isinstance(group, int) else self.groups.index(group)
        g = self.groups[i]
        return int(torch.count_nonzero(self.alphas[i].detach())) if g.prunable else g.size

    # ----------------------------------------------------------------- gate values
    def set_eps(self, eps: float) -> None:
        """Set ε of every gate (the paper decays it during training); ε must be > 0 (at 0 a
        zero α would give 0/0) and finite."""
        eps = float(eps)
        if not (eps > 0 and eps < float('inf')):
            raise ValueError(f'ε must be positive and finite, got {eps} (use '
                             'gdpseg.core.EpsilonSchedule, which has a floor)')
        self.eps.fill_(eps)

    def gate(self, i: int) -> torch.Tensor:
        """Gate values of group ``i`` (differentiable; ones for a fixed group)."""
        alpha = self.alphas[i]
        if not self.groups[i].prunable:
            return torch.ones_like(alpha)
        return polarized_gate(alpha, self.eps.to(alpha.dtype))

    def gate_vector(self, segs) -> torch.Tensor:
        """Gate values along a channel axis made of ``segs``."""
        return self.channel_groups.along(segs, self.gate)

    @torch.no_grad()
    def gate_values(self) -> torch.Tensor:
        """All gate values of prunable groups, concatenated (for histograms)."""
        vals = [self.gate(i) for i, g in enumerate(self.groups) if g.prunable]
        return torch.cat(vals) if vals else torch.zeros(0)

    # ----------------------------------------------------------------- gating hooks
    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def attach(self):
        """(Re-)install the gating hooks on the consumer layers."""
        if self._handles:
            return
        groups = self.channel_groups
        modules = dict(groups.model.named_modules())
        for rec in groups.graph.modules.values():
            handler = handler_of(rec.kind)
            if not handler.consumer or not any(groups.group_of(s).prunable
                                               for s in rec.in_segs):
                continue
            module = modules[rec.name]
            on_input = rec.in_numel * ACTIVATION_GATE_BATCH < module.weight.numel()
            weight_dim, input_dim = handler.gate_dims(rec)
            self._handles.append(module.register_forward_pre_hook(
                _GateHook(self, rec.in_segs, on_input, weight_dim, input_dim)))
            if not on_input:
                self._handles.append(module.register_forward_hook(
                    self._restore, always_call=True))

    def _restore(self, module, args, output):
        weight = self._stash.pop(module, None)
        if weight is not None:
            module._parameters['weight'] = weight

    def detach(self):
        """Remove the gating hooks: the model computes as if every gate were 1."""
        for h in self._handles:
            h.remove()
        self._handles = []

    # ----------------------------------------------------------------- the plan
    @torch.no_grad()
    def plan(self, alphas: Optional[Sequence[torch.Tensor]] = None) -> PruningPlan:
        """Keep the channels whose α ≠ 0; fold their gate values into the readers.

        Args:
            alphas: α of every group to plan for instead of the current ones (to evaluate a
                candidate step without applying it).
        """
        alphas = [a.detach() for a in (self.alphas if alphas is None else alphas)]
        eps = self.eps.to(alphas[0].dtype) if alphas else self.eps
        scale = [polarized_gate(a, eps) if g.prunable else None
                 for a, g in zip(alphas, self.groups)]
        keep = keep_by_score(self.channel_groups, [a != 0 for a in alphas], alphas)
        return resolve(self.channel_groups, PruningPlan(keep, scale))

    def keep_indices(self) -> List[torch.Tensor]:
        """Channel indices export keeps per group."""
        return self.plan().keep

    def flops(self, plan: Optional[PruningPlan] = None) -> int:
        """conv+linear multiply-adds of the network as export would leave it (traced input);
        of ``plan`` when given (the current plan computed once for several counts)."""
        return plan_flops(self.channel_groups, self.plan() if plan is None else plan)

    def full_flops(self) -> int:
        """conv+linear multiply-adds of the ungated network (traced input)."""
        return self.channel_groups.full_flops()

    def params(self) -> int:
        """Parameters of the network as export would leave it."""
        return plan_params(self.channel_groups, self.plan())

    def full_params(self) -> int:
        return self.channel_groups.full_params()

    def flops_ratio(self, plan: Optional[PruningPlan] = None) -> float:
        return self.flops(plan) / self.full_flops()

    def resource_value(self, plan: Optional[PruningPlan] = None) -> float:
        """The resource the gates penalise, of the export of ``plan`` (default: the current
        plan), in the resource's own units (multiply-adds, parameters, milliseconds...)."""
        return self.resource.plan_value(self.channel_groups,
                                        self.plan() if plan is None else plan)

    def full_resource_value(self) -> float:
        """The resource of the ungated network (computed once: it is every ratio's divisor)."""
        if self._full_value is None:
            self._full_value = self.resource.plan_value(self.channel_groups,
                                                        full_plan(self.channel_groups))
        return self._full_value

    def resource_ratio(self, plan: Optional[PruningPlan] = None) -> float:
        """:meth:`resource_value` over :meth:`full_resource_value` (for FLOPs: the exact
        ratio the export will have)."""
        return self.resource_value(plan) / self.full_resource_value()

    # ----------------------------------------------------------------- proximal step
    @torch.no_grad()
    def prox_step(self, lr: float, lam: float, passes: int = 1,
                  min_ratio: Optional[float] = None) -> float:
        """The proximal step of Algorithm 1 on every prunable α, after a gradient step.

        Args:
            lr: Learning rate of the gate parameters (η₁).
            lam: λ, weighting the *normalised* resource R/R_full, so it does not depend on
                the model's size.
            passes: N, the alternating passes (the paper uses 1).
            min_ratio: A floor on :meth:`resource_ratio`: a step that would zero enough gates
                to go below it is taken with the largest smaller λ that does not (bisection;
                a budget is never overshot by one large step).

        Returns:
            The λ the step was taken with (``lam`` unless the floor lowered it).
        """
        idx = [i for i, g in enumerate(self.groups) if g.prunable]
        if not idx:
            return lam
        alphas = [self.alphas[i] for i in idx]
        cut = self.protected_groups()
        hat = [a.detach().clone() for a in alphas]
        sizes = [g.size for g in self.groups]
        protected = [j for j, i in enumerate(idx) if i in cut]

        lost = {i for i, a in zip(idx, hat) if not bool(a.any())}  # cannot come back

        def step(lam_):
            guard = list(protected)
            while True:
                new = alternating_prox(hat, self.resource, idx, sizes, lr, lam_, passes,
                                       min_keep=self.min_channels, protected=guard)
                if not self.keep_connected:
                    return new
                # groups that die together may cut the input from an output (every ASPP
                # branch and the low-level projection at once): keep the fewest alive that
                # reconnect it
                dead = {i for i, n in zip(idx, new) if not bool(n.any())}
                revive = self.channel_groups.reconnecting(dead, lost) - set(
                    idx[j] for j in guard)
                if not revive:
                    return new
                guard += [j for j, i in enumerate(idx) if i in revive]

        def ratio(new):
            full = list(self.alphas)
            for i, n in zip(idx, new):
                full[i] = n
            return self.resource_ratio(self.plan(full))

        new = step(lam)
        if min_ratio is not None and lam > 0 and ratio(new) < min_ratio:
            lo, hi, new = 0.0, lam, step(0.0)
            if ratio(new) >= min_ratio:  # else: below the floor already; prune nothing more
                for _ in range(PROX_BISECTIONS):
                    mid = 0.5 * (lo + hi)
                    cand = step(mid)
                    if ratio(cand) >= min_ratio:
                        lo, new = mid, cand
                    else:
                        hi = mid
            lam = lo
        for a, n in zip(alphas, new):
            a.copy_(n)
        return lam

    def protected_groups(self) -> set:
        """Groups the proximal step never lets die: those that alone cut the input from an
        output (``keep_connected``) and those above ``max_death_share``."""
        cut = set(self.channel_groups.cut_groups()) if self.keep_connected else set()
        if self.max_death_share is not None:
            shares = death_shares(self.channel_groups)
            cut |= {i for i, share in shares.items() if share > self.max_death_share}
        return cut

    @torch.no_grad()
    def smallest_ratio(self) -> float:
        """:meth:`resource_ratio` of the smallest network the proximal step can reach: every
        prunable group dead except those it keeps alive (:meth:`protected_groups`, and the
        fewest that keep the input connected to every output), which keep
        ``max(1, min_channels)`` channels. A budget below it cannot be met."""
        floor = max(1, self.min_channels)
        alive = self.protected_groups()
        prunable = {i for i, g in enumerate(self.groups) if g.prunable}
        if self.keep_connected:
            alive |= self.channel_groups.reconnecting(prunable - alive)
        keep = [torch.arange(g.size) if not g.prunable else
                torch.arange(min(floor, g.size)) if i in alive else torch.arange(0)
                for i, g in enumerate(self.groups)]
        return self.resource_ratio(PruningPlan(keep))

    # ----------------------------------------------------------------- reporting
    def summary(self) -> str:
        """A table of groups: size, channels the export keeps, prunable or why not."""
        return self.channel_groups.summary(self.plan())


def death_shares(channel_groups) -> Dict[int, float]:
    """Per prunable group: the share of the full network's FLOPs that removing all its
    channels (and so every layer that only it feeds) takes away, the others kept whole."""
    def build():
        full = channel_groups.full_flops()
        base = full_plan(channel_groups)
        out = {}
        for i, g in enumerate(channel_groups.groups):
            if g.prunable:
                keep = list(base.keep)
                keep[i] = keep[i][:0]
                out[i] = 1 - plan_flops(channel_groups, PruningPlan(keep)) / full
        return out
    return channel_groups.cached('death_shares', build)


class _GateHook:
    """Forward pre-hook: gate the consumer's input channels, on its input or on its weight."""

    def __init__(self, gates: GateSet, segs: Tuple[Seg, ...], on_input: bool, weight_dim: int,
                 input_dim: int):
        self.gates, self.segs, self.on_input = gates, segs, on_input
        self.weight_dim, self.input_dim = weight_dim, input_dim

    def __call__(self, module, args):
        if self.on_input:
            x = args[0]
            gate = self.gates.gate_vector(self.segs).to(x.dtype)
            shape = [1] * x.dim()
            shape[self.input_dim] = -1
            return (x * gate.view(shape), *args[1:])
        weight = module._parameters['weight']
        gate = self.gates.gate_vector(self.segs).to(weight.dtype)
        shape = [1] * weight.dim()
        shape[self.weight_dim] = -1
        self.gates._stash[module] = weight
        module._parameters['weight'] = weight * gate.view(shape)


def attach_gates(model: nn.Module, example_inputs: tuple, forward_fn=None, eps: float = 0.1,
                 init: float = 1.0, strict: bool = False, exclude: Sequence[str] = (),
                 min_channels: int = 1, channel_multiple: int = 1,
                 flops_ignore: Sequence[str] = (),
                 resource: Union[str, dict, Resource] = 'flops',
                 keep_connected: bool = True, verify: bool = True) -> GateSet:
    """Find the channel groups of ``model`` (:func:`trace_groups`) and gate them in place.

    Args:
        model: Any ``nn.Module``; it is run once in eval mode on ``example_inputs``.
        example_inputs: A tuple of positional inputs.
        forward_fn: ``forward_fn(model, example_inputs)`` for models not called as
            ``model(*example_inputs)`` (e.g. ``lambda m, x: m(*x, mode='tensor')`` for mmseg).
        eps: Initial ε of the gates.
        init: Initial value of every α.
        strict: Raise :class:`UnsupportedOpError` on an op the engine does not model,
            instead of keeping the channels it touches (with a warning).
        exclude: ``fnmatch`` patterns of module names whose channels must not be pruned.
        min_channels: A group that keeps any channel keeps at least this many (a group may
            still lose all its channels: a dead branch; see ``keep_connected``).
        channel_multiple: Export keeps a multiple of this many channels per group (zero-gated
            fillers), for faster kernels; FLOPs are counted with the fillers.
        flops_ignore: ``fnmatch`` patterns of modules traced for their channels but not run at
            inference (e.g. ``'auxiliary_head.*'``): left out of FLOPs and the FLOPs penalty.
        resource: What the proximal step penalises (see :class:`GateSet`).
        keep_connected: Never let a group that disconnects input and output die (see
            :class:`GateSet`); ``False`` lets any group die.
        verify: Check the export of a random plan against the model now (see
            :func:`trace_groups`).

    Returns:
        GateSet: the gates; ``gates.groups`` lists every group found.
    """
    groups = trace_groups(model, example_inputs, forward_fn, strict, exclude, min_channels,
                          channel_multiple, flops_ignore, verify)
    return GateSet(groups, eps, init, resource, keep_connected)
