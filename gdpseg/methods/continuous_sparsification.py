"""Structured continuous sparsification (Yuan, Savarese & Maire, ICLR 2021) on the engine's
channel groups.

Each channel has a mask ``m = σ(β·s)`` with a learned ``s``; β grows exponentially during
training (the method's step, driven by :class:`PruningHook`), so the masks turn into steps. The
loss adds a budget-aware penalty on ``r``, the FLOPs of the network with every group's width
relaxed to the sum of its masks over the full FLOPs (the same bilinear model as GDP's R): its
weight is ``λ · (r − ratio) / ratio`` (r detached), so the masks are pushed down while ``r`` is
above the budget and let grow back below it (the paper's budget-aware growing, as we read it; a
gradient of ``λ/(2·ratio) · (r − ratio)²``). ``budget_aware=False`` keeps the weight at λ. At
the end the channels with the largest ``s`` are kept at the requested FLOPs ratio (one global
threshold, as the paper's ``s > 0`` with the threshold moved to meet the budget exactly), their
masks folded into the next layer.
"""
from typing import Sequence

import torch

from gdpseg.core import ChannelGates, PruningPlan, keep_by_score, resolve
from gdpseg.models.algorithms.base import SoftMaskAlgorithm
from gdpseg.registry import MODELS

from .importance import plan_at_ratio


class SigmoidGates(ChannelGates):
    """Gates ``σ(β·s)`` on the engine's groups (``alphas`` hold s, the buffer ``beta`` β)."""

    def __init__(self, channel_groups, init: float, beta: float, resource='flops'):
        super().__init__(channel_groups, init=init, resource=resource)
        self.register_buffer('beta', torch.tensor(float(beta)))

    def activation(self, alpha: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.beta.to(alpha.dtype) * alpha)

    @torch.no_grad()
    def plan(self, alphas=None) -> PruningPlan:
        """Keep the channels with ``s > 0`` (the paper's binarisation), masks folded."""
        alphas = [a.detach() for a in (self.alphas if alphas is None else alphas)]
        scale = [self.gate(i).detach() if g.prunable else None
                 for i, g in enumerate(self.groups)]
        keep = keep_by_score(self.channel_groups, [a > 0 for a in alphas], alphas)
        return resolve(self.channel_groups, PruningPlan(keep, scale))

    def relaxed_ratio(self) -> torch.Tensor:
        """The resource with each prunable group's width relaxed to the sum of its masks, over
        the full network's (differentiable)."""
        widths = [self.gate(i).sum() if g.prunable else float(g.size)
                  for i, g in enumerate(self.groups)]
        return relaxed_resource_ratio(self.resource, self.full_resource_value(), widths)


def relaxed_resource_ratio(resource, full: float, widths) -> torch.Tensor:
    """``resource.relaxed(widths) / full`` for widths given as tensors or numbers."""
    n = torch.stack([w if torch.is_tensor(w) else torch.tensor(float(w)) for w in widths])
    return resource.relaxed(n) / full


@MODELS.register_module()
class ContinuousSparsification(SoftMaskAlgorithm):
    """Structured continuous sparsification: channel masks σ(β·s), β annealed, a FLOPs-weighted
    penalty, and the plan at ``ratio`` from the learned ``s``.

    Args:
        architecture: The task model (config or module).
        **options: What every method shares (``input_shape``, ``forward_mode``, ``exclude``,
            ``min_channels``, ``channel_multiple``, ``strict``): see :class:`PruningAlgorithm`.
        ratio: Share of the FLOPs the export keeps (at most).
        lam: λ of the penalty on ``r = R(Σ masks) / R_full``.
        budget_aware: Weigh the penalty by ``(r − ratio) / ratio`` (r detached): the masks land
            on the budget instead of below it. ``False``: a constant λ.
        init: Initial s of every channel (the paper's s₀).
        beta: ``(β₀, β_final)``: β goes from β₀ to β_final exponentially over training
            (the step driven by :class:`~gdpseg.engine.hooks.PruningHook`).

    The paper's growing mode (from a small seed architecture) is
    :class:`~gdpseg.methods.growing.GrowingSparsification`. What is not reproduced: sparsifying
    or growing layers (depth); only channels are.
    """

    gate_class = SigmoidGates  # the masks (the growing mode's are hard on/off switches)

    def __init__(self, architecture, ratio: float, lam: float = 1.0, init: float = 0.5,
                 beta: Sequence[float] = (1.0, 200.0), budget_aware: bool = True, **options):
        if not 0 < ratio <= 1:
            raise ValueError(f'ratio must be in (0, 1], got {ratio}')
        if len(beta) != 2 or not 0 < beta[0] <= beta[1]:
            raise ValueError(f'beta must be (β₀, β_final) with 0 < β₀ <= β_final, got {beta}')
        super().__init__(architecture, **options)
        self.ratio, self.lam, self.beta_range = float(ratio), float(lam), tuple(beta)
        self.budget_aware = bool(budget_aware)
        self.gates = self.gate_class(self._groups, init, beta[0])

    def before_train(self, state):
        self.anneal(state.iter / max(1, state.max_iters))

    def after_step(self, state):
        # each iteration runs at its share of training; the last checkpoint holds the final β
        state.scalar('train/anneal', self.anneal(state.iter / max(1, state.max_iters)))

    def anneal(self, progress: float) -> float:
        """Set β for the share ``progress`` of training done; return it."""
        b0, b1 = self.beta_range
        beta = b0 * (b1 / b0) ** min(max(progress, 0.0), 1.0)
        self.gates.beta.fill_(beta)
        return beta

    def forward(self, inputs, *args, mode: str = 'tensor', **kwargs):
        out = super().forward(inputs, *args, mode=mode, **kwargs)
        if mode == 'loss' and self.lam:
            out['loss_budget'] = self.budget_loss()
        return out

    def budget_loss(self) -> torch.Tensor:
        """The penalty on the relaxed FLOPs ratio r (see the class)."""
        r = self.gates.relaxed_ratio().float()
        if not self.budget_aware:
            return self.lam * r
        return self.lam * (float(r) - self.ratio) / self.ratio * r

    def scores(self):
        return [a.detach().clone() for a in self.gates.alphas]

    @torch.no_grad()
    def plan(self) -> PruningPlan:
        """The channels with the largest s at ``ratio`` of the FLOPs, their masks folded."""
        plan = plan_at_ratio(self.channel_groups, self.scores(), self.ratio, 'global')
        scale = [self.gates.gate(i).detach() if g.prunable else None
                 for i, g in enumerate(self.gates.groups)]
        return resolve(self.channel_groups, PruningPlan(plan.keep, scale))
