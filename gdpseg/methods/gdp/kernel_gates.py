"""GDP's "gates of conv kernels" ablation (paper Eq. 10): no new α; each channel's gate is the
polarized function of the norm of the filters producing it.

    min_w  L(w; g_ε(x(w))) + λ R(x(w)) / R_full,   x_c = ‖w_c‖ / ‖w_c⁰‖

``‖w_c‖`` is the L2 norm of every filter producing channel c (over all producers of its group,
so a residual trunk has one x per channel), divided by its value when training starts, so x
starts at 1 like GDP's α (the paper writes g(w) and leaves the scale open; one ε for filters
of very different norms would gate them unevenly). The gate multiplies the channel where GDP's
would, and the proximal step of Algorithm 1 acts on x: after each optimizer step the filters of
channel c are scaled by ``prox(x̂_c) / x̂_c`` (a group soft threshold on the filter norm); a
channel whose filters reach zero is dead for the rest of training, as GDP's α with
``hold_zeros`` (otherwise momentum would move the filter off zero at the next step). The plan,
the fold of the gates and the export are GDP's, with x in place of α.
"""
from typing import List, Optional

import torch

from gdpseg.methods.importance import filter_producers, filter_sq_norms
from gdpseg.registry import MODELS

from .algorithm import GDPAlgorithm
from .gates import GateSet, polarized_gate


class KernelNormGates(GateSet):
    """GDP gates whose x is the relative norm of the producing filters (Eq. 10).

    ``alphas`` are not in the forward pass, so they get no gradient and the optimizer leaves
    them alone; they mirror x (zero for dead channels) after every proximal step and before
    every plan, so everything that reads α -- the plan, the resource ratio, the λ controller,
    the logs -- reads x, and their parameter group's lr is the proximal step's. Buffers:
    ``norm0`` (the first norms, per channel), ``norm_ready`` and ``dead``.
    """

    def __init__(self, channel_groups, eps: float = 0.1, resource='flops',
                 keep_connected: bool = True, max_death_share: Optional[float] = None):
        super().__init__(channel_groups, eps, 1.0, resource, keep_connected, max_death_share)
        self._producers = filter_producers(channel_groups)
        produced = [torch.zeros(g.size, dtype=torch.bool) for g in channel_groups.groups]
        for _, segs, _ in self._producers:
            for s in segs:
                produced[channel_groups.group_index(s)][:] = True
        orphans = [g.name for g, p in zip(channel_groups.groups, produced)
                   if g.prunable and not bool(p.all())]
        if orphans:
            raise ValueError(f'gates of conv kernels need a conv/linear filter producing every '
                             f'prunable channel; these groups have none: {orphans}. Exclude '
                             f'them (exclude=[...]) or use GDPAlgorithm')
        # the producers of each group: a gate reads only its own filters
        self._producers_of = [[p for p in self._producers
                               if any(channel_groups.group_index(s) == i for s in p[1])]
                              for i in range(len(channel_groups.groups))]
        total = sum(g.size for g in channel_groups.groups)
        self.register_buffer('norm0', torch.ones(total))
        self.register_buffer('norm_ready', torch.tensor(False))
        self.register_buffer('dead', torch.zeros(total, dtype=torch.bool))

    def _slices(self):
        offset = 0
        for g in self.groups:
            yield slice(offset, offset + g.size)
            offset += g.size

    def relative_norms(self, producers=None) -> List[torch.Tensor]:
        """x of every group (differentiable in the weights; dead channels 0, fixed groups 1),
        from ``producers`` (default: all). In training mode, the first call records the norms
        x is relative to."""
        if not bool(self.norm_ready) and producers is not None:
            producers = None  # the first call sees every norm
        norms = [sq.clamp_min(1e-24).sqrt() for sq in
                 filter_sq_norms(self.channel_groups, producers or self._producers)]
        if self.training and not bool(self.norm_ready):
            with torch.no_grad():
                self.norm0.copy_(torch.cat([n.detach() for n in norms]).clamp_min(1e-12))
                self.norm_ready.fill_(True)
        out = []
        for g, n, sl in zip(self.groups, norms, self._slices()):
            if not g.prunable:
                out.append(torch.ones_like(n))
                continue
            ref = self.norm0[sl] if bool(self.norm_ready) else n.detach().clamp_min(1e-12)
            out.append(torch.where(self.dead[sl], torch.zeros_like(n), n / ref))
        return out

    def gate(self, i: int) -> torch.Tensor:
        if not self.groups[i].prunable:
            return torch.ones_like(self.alphas[i])
        x = self.relative_norms(self._producers_of[i])[i]
        return polarized_gate(x, self.eps.to(x.dtype))

    @torch.no_grad()
    def sync(self) -> None:
        """Copy x into ``alphas``."""
        for alpha, x in zip(self.alphas, self.relative_norms()):
            alpha.copy_(x)

    @torch.no_grad()
    def prox_step(self, lr: float, lam: float, passes: int = 1,
                  min_ratio: Optional[float] = None) -> float:
        """GDP's proximal step on x, applied to the filters by scaling them."""
        self.sync()
        hat = [a.clone() for a in self.alphas]
        lam = super().prox_step(lr, lam, passes, min_ratio)
        factors = []
        for g, a, h, sl in zip(self.groups, self.alphas, hat, self._slices()):
            factor = torch.where(h > 0, a / h.clamp_min(1e-12), torch.zeros_like(h))
            factors.append(factor if g.prunable else torch.ones_like(h))
            if g.prunable:
                self.dead[sl] |= a == 0
        self._scale_filters(factors)
        return lam

    def _scale_filters(self, factors: List[torch.Tensor]) -> None:
        groups = self.channel_groups
        for module, segs, transposed in self._producers:
            f = groups.along(segs, factors.__getitem__)
            w = module.weight.transpose(0, 1) if transposed else module.weight
            w.mul_(f.view(-1, *[1] * (w.dim() - 1)).to(w.dtype))
            bias = getattr(module, 'bias', None)
            if isinstance(bias, torch.Tensor) and bias.shape[0] == f.numel():
                bias.mul_((f > 0).to(bias.dtype))  # a dead channel's filter is all zero

    def plan(self, alphas=None):
        if alphas is None:
            self.sync()
        return super().plan(alphas)


@MODELS.register_module()
class KernelGDP(GDPAlgorithm):
    """GDP with the gates of conv kernels (paper Eq. 10) instead of new parameters α.

    Trained like :class:`GDPAlgorithm` (``GDPHook`` with a λ or ``TargetLambda``, the gate
    parameter group of ``GDPOptimWrapperConstructor`` gives the proximal step its learning
    rate: set ``gate_lr_mult=1`` for the weights' rate) and exported the same way.

    Args:
        architecture, eps, resource, keep_connected, max_death_share, **options: see
            :class:`GDPAlgorithm`.
    """

    def __init__(self, architecture, eps: float = 0.1, resource='flops',
                 keep_connected: bool = True, max_death_share: Optional[float] = None,
                 **options):
        super().__init__(architecture, eps=eps, resource=resource,
                         keep_connected=keep_connected, max_death_share=max_death_share,
                         **options)

    def build_gates(self, eps, init, resource, keep_connected, max_death_share):
        return KernelNormGates(self._groups, eps, resource, keep_connected, max_death_share)
