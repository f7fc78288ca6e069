"""GDP's "naive SL0" ablation (paper Eq. 11): no gates in the forward pass; the smoothed-L0
function of the filter norms is a FLOPs penalty on the weights themselves.

    min_w  L(w) + λ · R(g_ε(‖w‖)) / R_full,   g_ε(x) = x² / (x² + ε)

where a channel's ``‖w‖`` is the L2 norm of every filter producing it (over all producers of its
group) and R is the engine's bilinear FLOPs model with each group's width relaxed to the sum of
its channels' g. ε starts, per channel, at a tenth of the squared norm (g = 1/1.1, as GDP's
gates start) and decays during training (the method's step, driven by
:class:`~gdpseg.engine.hooks.PruningHook`). The norms never reach zero under gradient descent, so the plan at ``ratio`` keeps the channels with the
largest g (one global threshold) -- the step GDP's proximal update makes unnecessary.
"""
from typing import List

import torch

from gdpseg.core import build_resource, full_plan
from gdpseg.methods.importance import filter_producers, filter_sq_norms, plan_at_ratio
from gdpseg.models.algorithms.base import PruningAlgorithm
from gdpseg.registry import MODELS

from .continuous_sparsification import relaxed_resource_ratio


@MODELS.register_module()
class NaiveSL0(PruningAlgorithm):
    """Eq. 11 of the GDP paper: a smoothed-L0 FLOPs penalty on filter norms, then a threshold.

    Args:
        architecture: The task model (config or module).
        **options: What every method shares (``input_shape``, ``forward_mode``, ``exclude``,
            ``min_channels``, ``channel_multiple``, ``strict``): see :class:`PruningAlgorithm`.
        ratio: Share of the FLOPs the export keeps (at most).
        lam: λ of the penalty.
        eps_final: ε ends at this multiple of its initial value.
    """

    def __init__(self, architecture, ratio: float, lam: float = 1.0, eps_final: float = 0.01,
                 **options):
        if not 0 < ratio <= 1:
            raise ValueError(f'ratio must be in (0, 1], got {ratio}')
        if not 0 < eps_final <= 1:
            raise ValueError(f'eps_final must be in (0, 1], got {eps_final}')
        super().__init__(architecture, **options)
        self.ratio, self.lam, self.eps_final = float(ratio), float(lam), float(eps_final)
        groups = self.channel_groups
        self._producers = filter_producers(groups)
        self._resource = build_resource('flops', groups)
        self._full = self._resource.plan_value(groups, full_plan(groups))
        # ε₀ per channel: a tenth of the squared norms when training first sees them (after a
        # baseline is loaded), kept in checkpoints
        self.register_buffer('eps0', torch.zeros(sum(g.size for g in groups.groups)))
        self.register_buffer('eps_ready', torch.tensor(False))
        self.register_buffer('eps_scale', torch.tensor(1.0))

    def squared_norms(self) -> List[torch.Tensor]:
        """Per group, per channel: the squared L2 norm of the filters producing it."""
        return filter_sq_norms(self.channel_groups, self._producers)

    def gate_values(self) -> List[torch.Tensor]:
        """g_ε of every channel's filter norm (ones for fixed groups)."""
        sq = self.squared_norms()
        if not bool(self.eps_ready):  # ε₀ = a tenth of the first norms: g starts at 1/1.1
            with torch.no_grad():
                self.eps0.copy_(torch.cat([s.detach() for s in sq]).clamp_min(1e-12) / 10)
                self.eps_ready.fill_(True)
        out, offset = [], 0
        for g, s in zip(self.channel_groups.groups, sq):
            eps = self.eps0[offset:offset + g.size] * self.eps_scale
            offset += g.size
            out.append(s / (s + eps) if g.prunable else torch.ones_like(s))
        return out

    def before_train(self, state):
        self.anneal(state.iter / max(1, state.max_iters))

    def after_step(self, state):
        # each iteration runs at its share of training; the last checkpoint holds the final ε
        state.scalar('train/anneal', self.anneal(state.iter / max(1, state.max_iters)))

    def anneal(self, progress: float) -> float:
        """ε at the share ``progress`` of training: ε₀ · eps_final^progress."""
        scale = self.eps_final ** min(max(progress, 0.0), 1.0)
        self.eps_scale.fill_(scale)
        return scale

    def forward(self, inputs, *args, mode: str = 'tensor', **kwargs):
        out = super().forward(inputs, *args, mode=mode, **kwargs)
        if mode == 'loss' and self.lam:
            widths = [v.sum() for v in self.gate_values()]
            out['loss_sl0'] = self.lam * relaxed_resource_ratio(
                self._resource, self._full, widths).float()
        return out

    @torch.no_grad()
    def plan(self):
        """The channels with the largest g at ``ratio`` of the FLOPs (no factors)."""
        return plan_at_ratio(self.channel_groups, [v.detach() for v in self.gate_values()],
                             self.ratio, 'global')
