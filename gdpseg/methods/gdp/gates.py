"""GDP's gates (paper §3.1): g(α) = α² / (α² + ε) on every channel group, and Algorithm 1.

:class:`GateSet` adds to the shared :class:`~gdpseg.core.ChannelGates` (the vectors α, the
hooks that apply the gates, the plan that keeps α ≠ 0 with the gate values folded, the export's
sizes) what is GDP's own: ε, the polarized gate, and the proximal step after every optimizer
step, which drives α to exact zeros under the resource penalty (:mod:`.prox`).
"""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn

from gdpseg.core import ChannelGroups, PruningPlan, Resource, full_plan, plan_flops, trace_groups
from gdpseg.core.channel_gates import ChannelGates

from .prox import alternating_prox

# Bisection steps of a floored proximal step: λ is found to 2⁻²⁰ of its value.
PROX_BISECTIONS = 20


def polarized_gate(alpha: torch.Tensor, eps) -> torch.Tensor:
    """g_ε(α) = α² / (α² + ε) (paper Eq. 2): exactly 0 at α=0, close to 1 elsewhere."""
    sq = alpha * alpha
    return sq / (sq + eps)


class GateSet(ChannelGates):
    """The GDP gates of one model: α per group, ε, and the proximal step.

    Created by :func:`attach_gates` or :class:`GDPAlgorithm`. Its parameters ``alphas`` hold one
    α vector per group (in ``groups`` order; those of fixed groups are constant ones and never
    gate), its buffer ``eps`` the current ε.

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

    Attributes:
        cost_exponent: p of the proximal step's tempered thresholds β_l ∝ c_l^p
            (:func:`~.prox.tempered`); 1 (default) is the paper.
    """

    cost_exponent: float = 1.0

    def __init__(self, channel_groups: ChannelGroups, eps: float = 0.1, init: float = 1.0,
                 resource: Union[str, dict, Resource] = 'flops', keep_connected: bool = True,
                 max_death_share: Optional[float] = None):
        if max_death_share is not None and not 0 < max_death_share <= 1:
            raise ValueError(f'max_death_share must be in (0, 1] or None, got {max_death_share}')
        if not eps > 0:
            raise ValueError(f'eps must be > 0, got {eps}')
        super().__init__(channel_groups, init, resource)
        self.max_death_share = max_death_share
        self.keep_connected = bool(keep_connected)
        self.register_buffer('eps', torch.tensor(float(eps), dtype=torch.float64))

    def set_eps(self, eps: float) -> None:
        """Set ε of every gate (the paper decays it during training); ε must be > 0 (at 0 a
        zero α would give 0/0) and finite."""
        eps = float(eps)
        if not (eps > 0 and eps < float('inf')):
            raise ValueError(f'ε must be positive and finite, got {eps} (use '
                             'gdpseg.methods.gdp.EpsilonSchedule, which has a floor)')
        self.eps.fill_(eps)

    def activation(self, alpha: torch.Tensor) -> torch.Tensor:
        return polarized_gate(alpha, self.eps.to(alpha.dtype))

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
                                       min_keep=self.min_channels, protected=guard,
                                       cost_exponent=self.cost_exponent)
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


def attach_gates(model: nn.Module, example_inputs: tuple, forward_fn=None, eps: float = 0.1,
                 init: float = 1.0, strict: bool = False, exclude: Sequence[str] = (),
                 min_channels: int = 1, channel_multiple: int = 1,
                 flops_ignore: Sequence[str] = (),
                 resource: Union[str, dict, Resource] = 'flops',
                 keep_connected: bool = True, verify=True, meta_trace='auto') -> GateSet:
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
        meta_trace: Trace on meta tensors (shapes only), on values, or 'auto' (see
            :func:`trace_groups`).

    Returns:
        GateSet: the gates; ``gates.groups`` lists every group found.
    """
    groups = trace_groups(model, example_inputs, forward_fn, strict, exclude, min_channels,
                          channel_multiple, flops_ignore, verify, meta_trace)
    return GateSet(groups, eps, init, resource, keep_connected)
