"""GDP gates: one α vector per channel group, g(α) = α² / (α² + ε), applied at every consumer.

A group's gate multiplies the input channels of each conv/linear that reads the group (paper
Fig. 2: the same g₁ appears before both convs a skip connection joins). A forward pre-hook applies
it in whichever form is cheaper for that layer: on the input activation, or on the consumer's
*weight* along its input axis for the duration of the call -- ``conv(g ⊙ x, W) = conv(x, W ⊙ g)``
for zero padding -- which costs one product the size of the weight, independent of batch and
resolution. Either way the module's class and ``state_dict`` stay untouched.
"""
import fnmatch
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

from .graph import ChannelGraph, Seg
from .plan import make_plan, plan_flops
from .prox import alternating_prox
from .resource import BilinearResource, build_flops, build_params

# A layer's gate goes on its input when the input of this many samples is smaller than its weight
# (low-resolution layers with large weights), else on its weight (high-resolution layers).
ACTIVATION_GATE_BATCH = 16


def polarized_gate(alpha: torch.Tensor, eps) -> torch.Tensor:
    """g_ε(α) = α² / (α² + ε) (paper Eq. 2): exactly 0 at α=0, close to 1 elsewhere."""
    sq = alpha * alpha
    return sq / (sq + eps)


@dataclass(eq=False)
class Group:
    """Channels that are kept or removed together, and their gate parameters.

    Attributes:
        name: A readable name (the first producing layer, plus how many are coupled).
        size: Number of channels.
        alpha: The gate parameters, shape ``[size]``.
        prunable: False when the channels must stay (``reasons`` says why).
        reasons: Why the group is not prunable.
        producers: Layers whose output channels form the group.
        consumers: conv/linear layers that read the group (and carry its gate).
        members: Channel-wise layers (norms, depthwise convs) that follow the group.
    """
    name: str
    size: int
    alpha: nn.Parameter
    prunable: bool
    reasons: List[str] = field(default_factory=list)
    producers: List[str] = field(default_factory=list)
    consumers: List[str] = field(default_factory=list)
    members: List[str] = field(default_factory=list)
    root: int = -1

    def live(self) -> int:
        """Channels whose gate parameter is not exactly zero."""
        return int(torch.count_nonzero(self.alpha.detach())) if self.prunable else self.size


class GateSet(nn.Module):
    """The gates of one model, its resource models and the GDP proximal step.

    Created by :func:`gdpseg.core.attach_gates`; its parameters are the α of prunable groups.
    """

    def __init__(self, model: nn.Module, graph: ChannelGraph, eps: float = 0.1,
                 init: float = 1.0, exclude: Sequence[str] = (), min_channels: int = 1,
                 channel_multiple: int = 1, flops_ignore: Sequence[str] = ()):
        super().__init__()
        self.graph = graph
        self.flops_ignore = tuple(flops_ignore)
        self.min_channels = int(min_channels)
        if channel_multiple < 1:
            raise ValueError(f'channel_multiple must be >= 1, got {channel_multiple}')
        self.channel_multiple = int(channel_multiple)
        self.register_buffer('eps', torch.tensor(float(eps), dtype=torch.float64))
        self.groups: List[Group] = self._build_groups(graph, init, exclude)
        self.alphas = nn.ParameterList([g.alpha for g in self.groups])
        self._index = {g.root: i for i, g in enumerate(self.groups)}
        self.flops_model: BilinearResource = build_flops(graph, self)
        self.params_model: BilinearResource = build_params(graph, self, model)
        # The resource the proximal step regularises; a latency model can be plugged in here.
        self.resource: BilinearResource = self.flops_model
        self._model = [model]  # a list, so the model is not registered as a submodule
        self._handles = []
        self._stash: Dict[nn.Module, torch.Tensor] = {}
        self.attach()

    # ----------------------------------------------------------------- construction
    def _build_groups(self, graph, init, exclude) -> List[Group]:
        roots = {}
        for rec in graph.modules.values():
            for s in rec.in_segs or ():
                roots.setdefault(graph.find(s.node), None)
            if rec.out_node is not None:
                roots.setdefault(graph.find(rec.out_node), None)
        producers: Dict[int, List[str]] = {r: [] for r in roots}
        consumers: Dict[int, List[str]] = {r: [] for r in roots}
        members: Dict[int, List[str]] = {r: [] for r in roots}
        for rec in graph.modules.values():
            excluded = any(fnmatch.fnmatchcase(rec.name, pat) for pat in exclude)
            touched = [graph.find(s.node) for s in rec.in_segs or ()]
            if rec.out_node is not None:
                producers[graph.find(rec.out_node)].append(rec.name)
                touched.append(graph.find(rec.out_node))
            for root in {graph.find(s.node) for s in rec.in_segs or ()}:
                (consumers if rec.kind in ('conv', 'linear') else members)[root].append(rec.name)
            if excluded:
                for root in touched:
                    graph.block(root, f'excluded: {rec.name}')
        groups = []
        for root in graph.classes():
            if root not in roots:
                continue
            size = graph.sizes[root]
            reasons = list(graph.blocked_reasons(root))
            if not consumers[root] and not reasons:
                reasons.append('no conv/linear reads it')
            if size <= self.min_channels and not reasons:
                reasons.append(f'{size} channels <= min_channels={self.min_channels}')
            prods = producers[root]
            name = prods[0] if prods else 'input of ' + (consumers[root] or members[root])[0]
            if len(prods) > 1:
                name += f' (+{len(prods) - 1} coupled)'
            alpha = nn.Parameter(torch.full((size,), float(init)), requires_grad=not reasons)
            groups.append(Group(name, size, alpha, not reasons, reasons, prods,
                                consumers[root], members[root], root))
        return groups

    def counted_calls(self):
        """Traced conv/linear calls that count towards FLOPs (not those in ``flops_ignore``)."""
        return [c for c in self.graph.calls
                if not any(fnmatch.fnmatchcase(c.module, p) for p in self.flops_ignore)]

    def group_index(self, seg: Seg) -> int:
        """Position in ``groups`` of the group a segment's channels belong to."""
        return self._index[self.graph.find(seg.node)]

    def group_of(self, seg: Seg) -> Group:
        return self.groups[self.group_index(seg)]

    # ----------------------------------------------------------------- gating hooks
    def _gate_vector(self, segs) -> torch.Tensor:
        parts = []
        for s in segs:
            g = self.group_of(s)
            vec = polarized_gate(g.alpha, self.eps.to(g.alpha.dtype)) if g.prunable else \
                torch.ones_like(g.alpha)
            parts.append(vec.repeat_interleave(s.expand) if s.expand > 1 else vec)
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def attach(self):
        """(Re-)install the gating hooks on the consumer layers."""
        if self._handles:
            return
        modules = dict(self._model[0].named_modules())
        for rec in self.graph.modules.values():
            if rec.kind not in ('conv', 'linear') or not any(
                    self.group_of(s).prunable for s in rec.in_segs):
                continue
            module = modules[rec.name]
            on_input = rec.in_numel * ACTIVATION_GATE_BATCH < module.weight.numel()
            channel_dim = -1 if rec.kind == 'linear' else 1
            self._handles.append(module.register_forward_pre_hook(
                _GateHook(self, rec.in_segs, rec.transposed, on_input, channel_dim)))
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

    # ----------------------------------------------------------------- ε and gate values
    def set_eps(self, eps: float) -> None:
        """Set ε of every gate (the paper decays it during training)."""
        self.eps.fill_(float(eps))

    def gate_values(self) -> torch.Tensor:
        """All gate values of prunable groups, concatenated (for histograms)."""
        vals = [polarized_gate(g.alpha.detach(), float(self.eps)) for g in self.groups
                if g.prunable]
        return torch.cat(vals) if vals else torch.zeros(0)

    # ----------------------------------------------------------------- resources
    def plan(self):
        """What export keeps (:class:`gdpseg.core.plan.ExportPlan`)."""
        return make_plan(self)

    def keep_indices(self) -> List[torch.Tensor]:
        """Channel indices export keeps per group (see :mod:`gdpseg.core.plan`)."""
        return self.plan().keep

    def flops(self) -> int:
        """conv+linear multiply-adds of the network as export would leave it (traced input)."""
        return plan_flops(self, self.plan())

    def full_flops(self) -> int:
        """conv+linear multiply-adds of the ungated network (traced input)."""
        return int(round(self.flops_model.value([g.size for g in self.groups])))

    def params(self) -> int:
        """Parameters of the network as export would leave it."""
        plan = self.plan()
        total = self.params_model.value([len(k) for k in plan.keep])
        modules = dict(self._model[0].named_modules())
        for name in plan.carriers:  # a carrier replaces the conv: its 1-channel weights go
            rec, conv = self.graph.modules[name], modules[name]
            total -= plan.width(self, rec.in_segs) * conv.weight[0, 0].numel()
            total -= 1 if conv.bias is not None else 0
        return int(round(total))

    def full_params(self) -> int:
        return int(round(self.params_model.value([g.size for g in self.groups])))

    def flops_ratio(self) -> float:
        return self.flops() / self.full_flops()

    # ----------------------------------------------------------------- proximal step
    @torch.no_grad()
    def prox_step(self, lr: float, lam: float, passes: int = 1) -> None:
        """The proximal step of Algorithm 1 on every prunable α, after a gradient step.

        Args:
            lr: Learning rate of the gate parameters (η₁).
            lam: λ, weighting the *normalised* resource R/R_full, so it does not depend on
                the model's size.
            passes: N, the alternating passes (the paper uses 1).
        """
        idx = [i for i, g in enumerate(self.groups) if g.prunable]
        if not idx:
            return
        alphas = [self.groups[i].alpha for i in idx]
        new = alternating_prox([a.detach() for a in alphas], self.resource, idx,
                               [g.size for g in self.groups], lr, lam, passes,
                               min_keep=self.min_channels)
        for a, n in zip(alphas, new):
            a.copy_(n)

    # ----------------------------------------------------------------- reporting
    def summary(self) -> str:
        """A table of groups: size, live channels, prunable or why not."""
        lines = [f'{"group":60s} {"size":>6s} {"live":>6s}  status']
        for g in self.groups:
            status = 'prunable' if g.prunable else 'fixed: ' + '; '.join(g.reasons)
            lines.append(f'{g.name[:60]:60s} {g.size:6d} {g.live():6d}  {status}')
        flops, full = self.flops(), self.full_flops()
        lines.append(f'FLOPs {flops:,} / {full:,} ({100 * flops / full:.2f} %)')
        return '\n'.join(lines)


class _GateHook:
    """Forward pre-hook: gate the consumer's input channels, on its input or on its weight."""

    def __init__(self, gates: GateSet, segs: Tuple[Seg, ...], transposed: bool,
                 on_input: bool, channel_dim: int):
        self.gates, self.segs, self.transposed = gates, segs, transposed
        self.on_input, self.channel_dim = on_input, channel_dim

    def __call__(self, module, args):
        if self.on_input:
            x = args[0]
            gate = self.gates._gate_vector(self.segs).to(x.dtype)
            shape = [1] * x.dim()
            shape[self.channel_dim] = -1
            return (x * gate.view(shape), *args[1:])
        weight = module._parameters['weight']
        gate = self.gates._gate_vector(self.segs).to(weight.dtype)
        shape = [1] * weight.dim()
        shape[0 if self.transposed else 1] = -1
        self.gates._stash[module] = weight
        module._parameters['weight'] = weight * gate.view(shape)


def attach_gates(model: nn.Module, example_inputs: tuple, forward_fn=None, eps: float = 0.1,
                 init: float = 1.0, strict: bool = False, exclude: Sequence[str] = (),
                 min_channels: int = 1, channel_multiple: int = 1,
                 flops_ignore: Sequence[str] = ()) -> GateSet:
    """Find the channel groups of ``model`` and gate them in place.

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
        min_channels: Channels every prunable group keeps at least.
        channel_multiple: Export keeps a multiple of this many channels per group (zero-gated
            fillers), for faster kernels; FLOPs are counted with the fillers.
        flops_ignore: ``fnmatch`` patterns of modules traced for their channels but not run at
            inference (e.g. ``'auxiliary_head.*'``): left out of FLOPs and the FLOPs penalty.

    Returns:
        GateSet: the gates; ``gates.groups`` lists every group found.
    """
    import warnings

    from .trace import trace_channels

    if not isinstance(example_inputs, tuple):
        raise TypeError('example_inputs must be a tuple of positional inputs, e.g. (x,)')
    graph, issues = trace_channels(model, example_inputs, forward_fn, strict)
    gates = GateSet(model, graph, eps, init, exclude, min_channels, channel_multiple,
                    flops_ignore)
    reported = set()
    for issue in issues:
        key = (issue.op, issue.module)
        if key in reported:
            continue
        reported.add(key)
        names = sorted({gates.group_of(Seg(n)).name for n in issue.nodes
                        if gates.graph.find(n) in gates._index})  # nodes that form groups
        warnings.warn(f'gdpseg: {issue.op} in {issue.module} is not modelled; channels of '
                      f'{", ".join(names) or "its inputs"} are kept (not prunable)', stacklevel=2)
    return gates
