"""Channel gates: one trainable vector per channel group, applied at every consumer of the group.

A group's gate multiplies the input channels of each conv/linear that reads the group (GDP paper
Fig. 2: the same g₁ appears before both convs a skip connection joins). A forward pre-hook applies
it in whichever form is cheaper for that layer: on the input activation, or on the consumer's
*weight* along its input axis for the duration of the call -- ``conv(g ⊙ x, W) = conv(x, W ⊙ g)``
for zero padding -- which costs one product the size of the weight, independent of batch and
resolution. Either way the module's class and ``state_dict`` stay untouched.

:class:`ChannelGates` is what every gate-based method shares (GDP's polarized gates, continuous
sparsification's sigmoid masks, BWCP's sampled masks): the vectors, the hooks, the plan that keeps
the channels whose vector entry is not zero with their gate values folded, and the size of the
export. A method says what its gate is (:meth:`ChannelGates.activation`).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from .graph import Seg
from .groups import ChannelGroups
from .layers import handler_of
from .plan import PruningPlan, full_plan, keep_by_score, plan_flops, plan_params, resolve
from .resource import Resource, build_resource

# A layer's gate goes on its input when the input of this many samples is smaller than its weight
# (low-resolution layers with large weights), else on its weight (high-resolution layers).
ACTIVATION_GATE_BATCH = 16


class ChannelGates(nn.Module):
    """Gates on the channel groups of one model: a vector per group, and the hooks that apply it.

    Its parameters ``alphas`` hold one vector per group (in ``groups`` order; those of fixed
    groups are constant ones and never gate). A subclass defines :meth:`activation`, the gate
    value of a vector.

    Args:
        channel_groups: The groups of the model (:func:`~gdpseg.core.trace_groups`).
        init: Initial value of every vector entry.
        resource: The resource the sizes are measured in (and a method may penalise): a
            registered name (``'flops'``, ``'params'``), ``dict(type=name, ...)`` or a
            :class:`Resource`.
    """

    def __init__(self, channel_groups: ChannelGroups, init: float = 1.0,
                 resource: Union[str, dict, Resource] = 'flops'):
        super().__init__()
        self.channel_groups = channel_groups
        self.alphas = nn.ParameterList([
            nn.Parameter(torch.full((g.size,), float(init)), requires_grad=g.prunable)
            for g in channel_groups.groups])
        self.resource: Resource = build_resource(resource, channel_groups)
        self._full_value = None  # see full_resource_value
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
        """The vector of a group (a :class:`Group` or its index)."""
        i = group if isinstance(group, int) else self.groups.index(group)
        return self.alphas[i]

    def live(self, group) -> int:
        """Channels of a group whose entry is not exactly zero (all, for a fixed group)."""
        i = group if isinstance(group, int) else self.groups.index(group)
        g = self.groups[i]
        return int(torch.count_nonzero(self.alphas[i].detach())) if g.prunable else g.size

    # ----------------------------------------------------------------- gate values
    def activation(self, alpha: torch.Tensor) -> torch.Tensor:
        """The gate values of a prunable group whose vector is ``alpha`` (differentiable)."""
        raise NotImplementedError(f'{type(self).__name__} must define activation(alpha)')

    def gate(self, i: int) -> torch.Tensor:
        """Gate values of group ``i`` (differentiable; ones for a fixed group)."""
        alpha = self.alphas[i]
        if not self.groups[i].prunable:
            return torch.ones_like(alpha)
        return self.activation(alpha)

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
            on_input = not handler.gate_on_weight or \
                rec.in_numel * ACTIVATION_GATE_BATCH < module.weight.numel()
            weight_dim, input_dim = handler.gate_dims(rec)
            self._handles.append(module.register_forward_pre_hook(
                _GateHook(self, rec.in_segs, on_input, weight_dim, input_dim)))
            if not on_input:
                self._handles.append(module.register_forward_hook(
                    self._restore, always_call=True))
        self._handles += groups.live_hooks(self._live_along)  # members on live channels only

    def _live_along(self, segs):
        """A function giving the live mask (entry ≠ 0) along a channel axis of ``segs``."""
        def live():
            return self.channel_groups.along(
                segs, lambda i: self.alphas[i].detach() != 0 if self.groups[i].prunable else
                torch.ones(self.groups[i].size, dtype=torch.bool))
        return live

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
        """Keep the channels whose entry ≠ 0; fold their gate values into the readers.

        Args:
            alphas: The vector of every group to plan for instead of the current ones (to
                evaluate a candidate step without applying it).
        """
        alphas = [a.detach() for a in (self.alphas if alphas is None else alphas)]
        scale = [self.activation(a) if g.prunable else None
                 for a, g in zip(alphas, self.groups)]
        keep = keep_by_score(self.channel_groups, [a != 0 for a in alphas], alphas)
        return resolve(self.channel_groups, PruningPlan(keep, scale))

    def keep_indices(self) -> List[torch.Tensor]:
        """Channel indices export keeps per group."""
        return self.plan().keep

    # ----------------------------------------------------------------- sizes of the export
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
        """The resource of the export of ``plan`` (default: the current plan), in the
        resource's own units (multiply-adds, parameters, milliseconds...)."""
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

    # ----------------------------------------------------------------- reporting
    def summary(self) -> str:
        """A table of groups: size, channels the export keeps, prunable or why not."""
        return self.channel_groups.summary(self.plan())


class _GateHook:
    """Forward pre-hook: gate the consumer's input channels, on its input or on its weight."""

    def __init__(self, gates: ChannelGates, segs: Tuple[Seg, ...], on_input: bool,
                 weight_dim: int, input_dim: int):
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
