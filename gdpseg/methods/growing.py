"""Growing networks by structured continuous sparsification (Yuan, Savarese & Maire, ICLR 2021,
the growing mode) on the engine's channel groups.

Training starts from a *seed*: in every prunable group only a share ``seed`` of the channels is
switched on (their ``s`` at ``+init``, the others at ``-init``), so most of the training runs on
a small network. A channel is on while ``s > 0``: the forward pass multiplies it by the hard mask
``1[s > 0]``, the backward pass gives ``s`` the slope of ``σ(β·s)`` (a straight-through
estimator), so a switched-off channel can switch on when the loss and the budget ask for it. β
grows from β₀ to β_final as in :class:`ContinuousSparsification`, which makes switching rarer
as training goes on. The budget-aware penalty is the same: below the FLOPs budget it lets the
network grow, above it it shrinks the network.

**Training cost.** After every step the FLOPs of the network actually switched on (the engine's
bilinear FLOPs model at the groups' numbers of live channels, which is the exact conv+linear
count of that network) are added up; :meth:`GrowingSparsification.training_cost` is their mean
over the full network's, and its inverse the paper's "train-cost savings" against training the
full network for the same iterations. The masked network still runs at full width here (the
count is of the network that needs to run, not a measured speed-up).

At the end the channels with the largest ``s`` among those switched on are kept at ``ratio`` of
the FLOPs (one global threshold); the hard masks are 1 on them, so the export is the switched-on
network, exactly.

**Growing blocks** (``grow_blocks=True``; the paper grows layers too, as AutoGrow does): a
prunable group that no input-to-output path needs (inside a residual branch:
:meth:`~gdpseg.core.ChannelGroups.cut_groups` leaves it out) is a block that can be off. Only a
share ``seed_blocks`` of those blocks start with their seed channels on, spread evenly in the
network's order; the others start with every channel off, so the seed is shallower as well as
narrower, and a block switches on when any of its channels does (the straight-through gradient
reaches switched-off channels). A block still off at the end is removed by the export (its
residual path stays, exactly; the block's last conv stays, reading one zero channel, since its
output is the residual stream's: a constant, whose FLOPs the export's count includes), and
counts 0 FLOPs in the training cost while it is off.
"""
import math
from typing import Sequence

import torch

from gdpseg.core import PruningPlan, resolve
from gdpseg.registry import MODELS

from .continuous_sparsification import (ContinuousSparsification, SigmoidGates,
                                        relaxed_resource_ratio)
from .importance import plan_at_ratio


class SwitchGates(SigmoidGates):
    """Hard on/off masks ``1[s > 0]`` with the gradient of ``σ(β·s)`` (straight through)."""

    def activation(self, alpha: torch.Tensor) -> torch.Tensor:
        soft = torch.sigmoid(self.beta.to(alpha.dtype) * alpha)
        return (alpha > 0).to(soft.dtype) + soft - soft.detach()

    @torch.no_grad()
    def live_widths(self):
        """Channels switched on per group (a fixed group: all of them)."""
        return [int((a > 0).sum()) if g.prunable else g.size
                for a, g in zip(self.alphas, self.groups)]

    @torch.no_grad()
    def live_ratio(self) -> float:
        """FLOPs of the switched-on network over the full network's."""
        return float(relaxed_resource_ratio(self.resource, self.full_resource_value(),
                                            self.live_widths()))


@MODELS.register_module()
class GrowingSparsification(ContinuousSparsification):
    """Structured continuous sparsification in growing mode: from a seed of ``seed`` of every
    prunable group's channels, channels switch on and off under the budget-aware penalty.

    Args:
        architecture: The task model (config or module), trained from scratch.
        ratio: Share of the FLOPs the export keeps (at most): the budget.
        seed: Share of each prunable group's channels switched on at the start (its first
            channels; at least one).
        lam, beta, budget_aware: As :class:`ContinuousSparsification`.
        init: ``|s|`` at the start (``+init`` on, ``-init`` off).
        grow_blocks: Let blocks (groups inside residual branches) start off and switch on, and
            remove a block that is off at the end.
        seed_blocks: With ``grow_blocks``, the share of those blocks that start on (spread
            evenly; 0: none, the seed is the network without its residual branches).
        **options: What every method shares (``input_shape``, ``forward_mode``, ...).
    """

    gate_class = SwitchGates

    def __init__(self, architecture, ratio: float, seed: float = 0.25, lam: float = 1.0,
                 init: float = 0.05, beta: Sequence[float] = (1.0, 200.0),
                 budget_aware: bool = True, grow_blocks: bool = False,
                 seed_blocks: float = 0.5, **options):
        if not 0 <= seed_blocks <= 1:
            raise ValueError(f'seed_blocks must be a share of blocks in [0, 1], got '
                             f'{seed_blocks}')
        if not 0 < seed <= 1:
            raise ValueError(f'seed must be a share of channels in (0, 1], got {seed}')
        if not init > 0:
            raise ValueError(f'init must be > 0 (the |s| of every channel), got {init}')
        super().__init__(architecture, ratio=ratio, lam=lam, init=init, beta=beta,
                         budget_aware=budget_aware, **options)
        self.seed = float(seed)
        self.grow_blocks, self.seed_blocks = bool(grow_blocks), float(seed_blocks)
        self.blocks = self._blocks() if grow_blocks else []
        if grow_blocks and not self.blocks:
            raise ValueError('grow_blocks=True, but no prunable group is inside a residual '
                             'branch (every one is on each path from the input to an output): '
                             'this network has no block that can be off')
        # blocks that start on: floor((j + 1)·share) steps up at block j (evenly spread)
        off = {b for j, b in enumerate(self.blocks)
               if math.floor((j + 1) * seed_blocks) == math.floor(j * seed_blocks)}
        with torch.no_grad():
            for i, (a, g) in enumerate(zip(self.gates.alphas, self.gates.groups)):
                if g.prunable:
                    a[0 if i in off else math.ceil(seed * g.size):] = -init
        self.register_buffer('cost_sum', torch.zeros((), dtype=torch.float64))
        self.register_buffer('cost_steps', torch.zeros((), dtype=torch.long))

    def _blocks(self):
        """Indices of the prunable groups that can be removed whole: no path from the input
        to an output needs them (inside residual branches)."""
        cut = set(self.channel_groups.cut_groups())
        return [i for i, g in enumerate(self.gates.groups) if g.prunable and i not in cut]

    def blocks_on(self) -> int:
        """Blocks with at least one channel switched on."""
        return sum(int(bool((self.gates.alphas[i] > 0).any())) for i in self.blocks)

    def after_step(self, state):
        super().after_step(state)
        ratio = self.gates.live_ratio()
        self.cost_sum += ratio
        self.cost_steps += 1
        state.scalar('train/live_flops', ratio)
        if self.grow_blocks:
            state.scalar('train/blocks_on', self.blocks_on())

    def training_cost(self) -> float:
        """Mean FLOPs of the network switched on over the training steps so far, relative to
        the full network's (1: as costly as training the full network)."""
        steps = int(self.cost_steps)
        return float(self.cost_sum) / steps if steps else 1.0

    def scores(self):
        # switched-off channels rank below every switched-on one
        return [torch.where(a > 0, a, a - 1e6).detach() for a in self.gates.alphas]

    @torch.no_grad()
    def plan(self) -> PruningPlan:
        """The switched-on channels with the largest s at ``ratio`` of the FLOPs (all of them
        when the switched-on network is within the budget)."""
        plan = plan_at_ratio(self.channel_groups, self.scores(), self.ratio, 'global')
        keep, blocks = [], set(self.blocks)
        for i, (k, a, g) in enumerate(zip(plan.keep, self.gates.alphas, self.gates.groups)):
            on = k[a[k] > 0] if g.prunable else k
            # a block that is off goes; any other group keeps its best channel
            keep.append(on if len(on) or not len(k) or i in blocks
                        else k[a[k].argmax()].view(1))
        scale = [self.gates.gate(i).detach() if g.prunable else None
                 for i, g in enumerate(self.gates.groups)]
        return resolve(self.channel_groups, PruningPlan(keep, scale))
