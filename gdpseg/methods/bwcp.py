"""BWCP (Shao et al., NeurIPS 2021, "probabilistic learning-to-prune channels via batch
whitening") on the engine's channel groups, with or without its batch-whitening module.

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

Batch whitening (``whiten=[patterns]``, :mod:`.batch_whitening`) decorrelates the channels of
the chosen BatchNorm layers in groups, so that ``x̂ ~ N(0, I)`` and P's model holds for the
channels together; without it (``whiten=()``, the default) the norms stay BatchNorm and
``x̂ ~ N(0, 1)`` holds per channel only: the paper's Table 3 ablation. Before the export the
whitening is folded into the convolution before each whitened norm, and the fold is checked
against the whitened network.

What is not reproduced: pruning by the paper's own threshold on P (here the threshold meets a
FLOPs ratio, as for every method of a comparison at equal FLOPs). A group normalised by several
layers (a residual trunk) takes the mean of their P.
"""
import fnmatch
import math
from typing import List, Optional, Sequence

import torch
import torch.nn as nn

from gdpseg.core import ChannelGates, PruningPlan, resolve
from gdpseg.core.nested import max_difference
from gdpseg.methods.batch_whitening import BatchWhitening
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


def _feeding_layers(model: nn.Module, norms: Sequence[nn.Module], forward) -> List:
    """For each norm, the module whose output tensor is the norm's input on one forward pass
    (None where it is not a module's output)."""
    produced, fed, handles = {}, {}, []
    wanted = {id(n) for n in norms}

    def read(module, args):
        fed.setdefault(id(module), id(args[0]))

    def wrote(module, args, out):
        if isinstance(out, torch.Tensor):  # the tensor is held: its id stays its own
            produced[id(out)] = (module, out)

    for module in model.modules():
        if id(module) in wanted:
            handles.append(module.register_forward_pre_hook(read))
        elif not list(module.children()):
            handles.append(module.register_forward_hook(wrote))
    try:
        with torch.no_grad():
            forward()
    finally:
        for h in handles:
            h.remove()
    return [produced.get(fed.get(id(n)), (None,))[0] for n in norms]


@MODELS.register_module()
class BWCP(SoftMaskAlgorithm):
    """BWCP: soft-sampled channel masks from the activation probabilities ``Φ(β/|γ|)``, a
    sparse regularisation of γ and β, optional batch whitening of the norms, and the plan at
    ``ratio`` from those probabilities.

    Args:
        architecture: The task model (config or module).
        **options: What every method shares (``input_shape``, ``forward_mode``, ``exclude``,
            ``min_channels``, ``channel_multiple``, ``strict``): see :class:`PruningAlgorithm`.
        ratio: Share of the FLOPs the export keeps (at most).
        lam_gamma: λ₁ of ``λ₁·Σ|γ|`` (the paper: 1.2e-4 over 200 CIFAR epochs).
        lam_beta: λ₂ of ``λ₂·Σβ``.
        temperature: τ of the relaxed Bernoulli masks.
        whiten: ``fnmatch`` patterns of the BatchNorm layers (names within the architecture,
            ``'*'``: every one on a prunable group) to whiten (:mod:`.batch_whitening`); each
            must directly follow a dense convolution or linear layer that nothing else reads.
            Empty: BWCP without batch whitening.
        whiten_group: Channels whitened together.
        whiten_iters: Newton iterations of each whitening.
    """

    def __init__(self, architecture, ratio: float, lam_gamma: float = 1.2e-4,
                 lam_beta: float = 1.2e-4, temperature: float = 0.5,
                 whiten: Sequence[str] = (), whiten_group: int = 16, whiten_iters: int = 5,
                 **options):
        if not 0 < ratio <= 1:
            raise ValueError(f'ratio must be in (0, 1], got {ratio}')
        if not (lam_gamma >= 0 and lam_beta >= 0):
            raise ValueError(f'lam_gamma and lam_beta must be >= 0, got {lam_gamma}, {lam_beta}')
        super().__init__(architecture, **options)
        self.ratio, self.lam_gamma, self.lam_beta = float(ratio), float(lam_gamma), float(lam_beta)
        groups = self.channel_groups
        norms = [(m, segs) for m, segs, _, shift in affine_layers(groups) if shift is not None]
        self.gates = ActivationProbabilityGates(groups, norms, temperature)
        self.whitening = nn.ModuleDict()
        self._fed_by = {}
        if isinstance(whiten, str):
            whiten = [whiten]
        if whiten:
            self._attach_whitening(list(whiten), norms, whiten_group, whiten_iters)

    def _attach_whitening(self, patterns, norms, group_size, iters):
        names = {m: n for n, m in self.architecture.named_modules()}
        chosen = [m for m, _ in norms if isinstance(m, nn.modules.batchnorm._BatchNorm) and
                  any(fnmatch.fnmatch(names[m], p) for p in patterns)]
        if not chosen:
            raise ValueError(f'whiten={patterns} matches no BatchNorm layer on a prunable '
                             f'group; they are: {[names[m] for m, _ in norms]}')
        demo = torch.zeros(self.input_shape)
        demo.normal_(generator=torch.Generator().manual_seed(0))
        was = self.architecture.training
        self.architecture.eval()
        try:
            feeds = _feeding_layers(self.architecture, chosen, lambda: self.call_architecture(demo))
        finally:
            self.architecture.train(was)
        dense = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
        wrong = [names[m] for m, f in zip(chosen, feeds)
                 if not isinstance(f, dense) or getattr(f, 'groups', 1) != 1]
        if wrong:
            raise ValueError(f'batch whitening folds into the dense convolution or linear layer '
                             f'right before the norm; these norms follow none: {wrong}. Leave '
                             'them out of whiten=[...]')
        for m, f in zip(chosen, feeds):
            key = names[m].replace('.', '__')
            self.whitening[key] = BatchWhitening(m, group_size, iters)
            # the export copies the architecture without it (a rebuilt export, PrunedModel,
            # must be plain conv + BatchNorm: the whitening is folded or, rebuilt, not there)
            self.channel_groups.register_hook_owner(self.whitening[key])
            self._fed_by[key] = names[f]

    def before_export(self, example: torch.Tensor) -> None:
        """Fold every batch whitening into the layer before its norm (eval mode: its running
        whitening), and check that the network computes what it computed whitened."""
        todo = [(k, w) for k, w in self.whitening.items() if w.attached]
        if not todo:
            return
        modules = dict(self.architecture.named_modules())
        with torch.no_grad():
            before = self.call_architecture(example)
            for key, w in todo:
                w.fold(modules[self._fed_by[key]])
            diff = max_difference(before, self.call_architecture(example))
        if diff > 1e-4:
            raise RuntimeError(
                f'folding the batch whitening changed the network by {diff:.3g} (relative): '
                f'the output of one of {[self._fed_by[k] for k, _ in todo]} is read by more '
                'than its BatchNorm. Whiten only norms whose input nothing else reads')

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
