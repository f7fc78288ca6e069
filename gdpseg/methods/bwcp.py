"""BWCP (Shao et al., NeurIPS 2021, "probabilistic learning-to-prune channels via batch
whitening") on the engine's channel groups, without its batch-whitening module.

A channel's output after its normalisation is ``y = γ·x̂ + β``; with ``x̂ ~ N(0, 1)`` the
channel is active after the ReLU with probability ``P = Φ(β / |γ|)``. In training each channel's
output is multiplied by a soft mask sampled from a relaxed Bernoulli of probability P (the
Gumbel-softmax of two classes, temperature τ): ``m = σ((logit P + logit u) / τ)``, u uniform,
one sample per channel and iteration shared by every layer reading the channel. The loss adds
the sparse regularisation ``λ₁·Σ|γ| + λ₂·Σβ`` (Eq. 7 as we read it): smaller |γ| and β lower P.
In eval mode the masks are their probabilities P. The plan keeps the most probable channels at
``ratio`` of the FLOPs (one global threshold) and folds P into the next layer. They are ranked
by ``β/|γ|``, which orders channels as P does without P's saturation: the regularisation drives
many channels to P = 0 or 1 exactly in float32, and ties there could not meet a ratio.

What is not reproduced: the batch-whitening module (the norms stay BatchNorm, so ``x̂ ~ N(0, 1)``
holds per channel only; the paper's Table 3 ablates BW the same way), and pruning by the
paper's own threshold on P (here the threshold meets a FLOPs ratio, as for every method of a
comparison at equal FLOPs). A group normalised by several layers (a residual trunk) takes the
mean of their P.
"""
import math
from typing import List, Optional

import torch

from gdpseg.core import ChannelGates, PruningPlan, resolve
from gdpseg.methods.importance import add_by_group, affine_layers, plan_at_ratio
from gdpseg.models.algorithms.base import SoftMaskAlgorithm
from gdpseg.registry import MODELS

# P is kept this far from 0 and 1 so that its logit stays finite
P_MARGIN = 1e-6


def activation_probability(weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``Φ(β / |γ|)``: the probability that ``γ·x̂ + β > 0`` for ``x̂ ~ N(0, 1)``
    (differentiable in γ and β; a zero γ gives 0 or 1 by the sign of β)."""
    z = bias / weight.abs().clamp(min=1e-12)
    return 0.5 * (1 + torch.erf(z / math.sqrt(2)))


class ActivationProbabilityGates(ChannelGates):
    """BWCP's masks on the engine's groups: relaxed-Bernoulli samples of each channel's
    activation probability in training, the probabilities in eval mode.

    Args:
        channel_groups: The groups of the model.
        norms: ``(module, segs)`` of every affine norm layer on a prunable group.
        temperature: τ of the relaxation (smaller: masks closer to 0/1).
    """

    def __init__(self, channel_groups, norms, temperature: float):
        if not temperature > 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        super().__init__(channel_groups)
        for a in self.alphas:  # unused: the masks are functions of the norms' γ and β
            a.requires_grad_(False)
        self.temperature = float(temperature)
        self._norms = list(norms)
        self._sample: Optional[List[torch.Tensor]] = None
        counts = [torch.zeros(g.size) for g in self.groups]
        for module, segs in self._norms:
            add_by_group(channel_groups, segs, torch.ones(module.weight.shape[0]), counts)
        missing = [g.name for g, c in zip(self.groups, counts) if g.prunable and not (c > 0).all()]
        if missing:
            raise ValueError(f'BWCP needs an affine norm layer (BatchNorm) on every prunable '
                             f'channel; these groups have none: {missing}. Exclude their layers '
                             '(exclude=[...]) or use another method')
        self._counts = counts

    def _group_mean(self, per_norm) -> List[torch.Tensor]:
        """Per group, per channel: the mean of ``per_norm(weight, bias)`` over the group's norm
        layers (differentiable; ones for a fixed group)."""
        device = self._norms[0][0].weight.device if self._norms else None
        sums = [torch.zeros(g.size, device=device) for g in self.groups]
        for module, segs in self._norms:
            add_by_group(self.channel_groups, segs, per_norm(module.weight, module.bias), sums)
        return [s / c.to(s.device) if g.prunable else torch.ones_like(s)
                for s, c, g in zip(sums, self._counts, self.groups)]

    def probabilities(self) -> List[torch.Tensor]:
        """Per group, per channel: P, the mean of ``Φ(β/|γ|)`` over the group's norm layers."""
        return self._group_mean(activation_probability)

    def ranks(self) -> List[torch.Tensor]:
        """Per group, per channel: the mean of ``β/|γ|`` (P's order, unsaturated)."""
        return self._group_mean(lambda w, b: b / w.abs().clamp(min=1e-12))

    def resample(self) -> None:
        """Draw this iteration's masks (every reader of a channel sees the same one)."""
        self._sample = []
        for p, g in zip(self.probabilities(), self.groups):
            if not g.prunable:
                self._sample.append(p)
                continue
            p = p.clamp(P_MARGIN, 1 - P_MARGIN)
            u = torch.rand_like(p).clamp(P_MARGIN, 1 - P_MARGIN)
            logits = torch.log(p) - torch.log1p(-p) + torch.log(u) - torch.log1p(-u)
            self._sample.append(torch.sigmoid(logits / self.temperature))

    def gate(self, i: int) -> torch.Tensor:
        if self.training:
            if self._sample is None:
                self.resample()
            return self._sample[i]
        return self.probabilities()[i]

    def train(self, mode: bool = True):
        self._sample = None  # a sample belongs to one training forward pass
        return super().train(mode)

    @torch.no_grad()
    def plan(self, alphas=None) -> PruningPlan:
        raise NotImplementedError('BWCP plans at a FLOPs ratio: use BWCP.plan()')


@MODELS.register_module()
class BWCP(SoftMaskAlgorithm):
    """BWCP without batch whitening: soft-sampled channel masks from the activation
    probabilities ``Φ(β/|γ|)``, a sparse regularisation of γ and β, and the plan at ``ratio``
    from those probabilities.

    Args:
        architecture: The task model (config or module).
        **options: What every method shares (``input_shape``, ``forward_mode``, ``exclude``,
            ``min_channels``, ``channel_multiple``, ``strict``): see :class:`PruningAlgorithm`.
        ratio: Share of the FLOPs the export keeps (at most).
        lam_gamma: λ₁ of ``λ₁·Σ|γ|`` (the paper: 1.2e-4 over 200 CIFAR epochs).
        lam_beta: λ₂ of ``λ₂·Σβ``.
        temperature: τ of the relaxed Bernoulli masks.
    """

    def __init__(self, architecture, ratio: float, lam_gamma: float = 1.2e-4,
                 lam_beta: float = 1.2e-4, temperature: float = 0.5, **options):
        if not 0 < ratio <= 1:
            raise ValueError(f'ratio must be in (0, 1], got {ratio}')
        if not (lam_gamma >= 0 and lam_beta >= 0):
            raise ValueError(f'lam_gamma and lam_beta must be >= 0, got {lam_gamma}, {lam_beta}')
        super().__init__(architecture, **options)
        self.ratio, self.lam_gamma, self.lam_beta = float(ratio), float(lam_gamma), float(lam_beta)
        groups = self.channel_groups
        norms = [(m, segs) for m, segs, _, shift in affine_layers(groups) if shift is not None]
        self.gates = ActivationProbabilityGates(groups, norms, temperature)

    def forward(self, inputs, *args, mode: str = 'tensor', **kwargs):
        if self.training:
            self.gates.resample()
        out = super().forward(inputs, *args, mode=mode, **kwargs)
        if mode == 'loss' and (self.lam_gamma or self.lam_beta):
            norms = [m for m, _ in self.gates._norms]
            out['loss_sparsity'] = sum(self.lam_gamma * m.weight.abs().sum() +
                                       self.lam_beta * m.bias.sum() for m in norms)
        return out

    def scores(self) -> List[torch.Tensor]:
        """Per group, per channel: the mean ``β/|γ|`` the plan ranks channels by."""
        with torch.no_grad():  # asinh keeps the order and bounds the threshold search's range
            return [torch.asinh(r.detach()) for r in self.gates.ranks()]

    @torch.no_grad()
    def plan(self) -> PruningPlan:
        """The most probable channels at ``ratio`` of the FLOPs, their P folded."""
        probs = [p.detach() for p in self.gates.probabilities()]
        plan = plan_at_ratio(self.channel_groups, self.scores(), self.ratio, 'global')
        scale = [p if g.prunable else None for p, g in zip(probs, self.gates.groups)]
        return resolve(self.channel_groups, PruningPlan(plan.keep, scale))
