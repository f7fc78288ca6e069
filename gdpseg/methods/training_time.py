"""Baselines that train before they prune: Network Slimming and Soft Filter Pruning.

Both end in the same one-shot choice as :class:`OneShotPruning` (a plan at a FLOPs ratio from
channel scores), exported by ``tools/prune.py`` from the last checkpoint; what differs is how the
weights got there.
"""

import torch

from gdpseg.methods.importance import affine_layers
from gdpseg.methods.soft import zero_dropped
from gdpseg.registry import MODELS

from .one_shot import OneShotPruning


@MODELS.register_module()
class NetworkSlimming(OneShotPruning):
    """Network Slimming (Liu et al. 2017): train with an L1 penalty on the BatchNorm scales
    γ, then keep the channels above one global threshold on ``|γ|``.

    The penalty ``sparsity · Σ|γ|`` over the norms of prunable groups is added to the task loss
    (as ``loss_sparsity``), so its subgradient ``sparsity · sign(γ)`` reaches γ through the
    optimizer like the paper's, momentum included.

    Args:
        sparsity: s of the paper (1e-4 on CIFAR, 1e-5 on ImageNet for 160 / 60 epochs; short
            runs need more).
        ratio, score, scope, seed and the rest: see :class:`OneShotPruning` (here
            ``score='bn'``, ``scope='global'`` by default: the paper's rule).
    """

    def __init__(self, architecture, ratio: float, sparsity: float = 1e-4, score: str = 'bn',
                 scope: str = 'global', seed: int = 0, **options):
        if not sparsity >= 0:
            raise ValueError(f'sparsity must be >= 0, got {sparsity}')
        super().__init__(architecture, ratio, score, scope, seed, **options)
        self.sparsity = float(sparsity)
        self._scales = [scale for _, _, scale, _ in affine_layers(self.channel_groups)]
        if not self._scales:
            raise ValueError('NetworkSlimming needs affine BatchNorm (or InstanceNorm) layers on '
                             'prunable channels; this model has none: use OneShotPruning')

    def forward(self, inputs, *args, mode: str = 'tensor', **kwargs):
        out = super().forward(inputs, *args, mode=mode, **kwargs)
        if mode == 'loss' and self.sparsity:
            out['loss_sparsity'] = self.sparsity * sum(w.abs().sum() for w in self._scales)
        return out


@MODELS.register_module()
class SoftFilterPruning(OneShotPruning):
    """Soft Filter Pruning (He et al. 2018): every ``interval`` iterations (the paper: every
    epoch) the filters with the smallest L1 norms are set to zero and training goes on with all
    of them, so a zeroed filter may recover. Its step (driven by :class:`PruningHook`) calls
    :meth:`soften` before training, every ``interval`` iterations and at the end; the export
    after the last zeroing drops exactly the zeroed filters.

    Args:
        interval: Iterations between zeroings (the paper: one epoch).
        the rest: see :class:`OneShotPruning` (``score='l1'``, ``scope='uniform'``: the paper's
            same pruning rate in every layer).
    """

    def __init__(self, architecture, ratio: float, score: str = 'l1', scope: str = 'uniform',
                 seed: int = 0, interval: int = 100, **options):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        super().__init__(architecture, ratio, score, scope, seed, **options)
        self.interval = int(interval)

    def before_train(self, state):
        state.scalar('train/soft_zeroed_channels', self.soften())

    def after_step(self, state):
        if state.iter % self.interval == 0:
            state.scalar('train/soft_zeroed_channels', self.soften())

    def after_train(self, state):
        self.soften()

    @torch.no_grad()
    def soften(self) -> int:
        """Zero the filters the plan at ``ratio`` drops now; return how many."""
        return zero_dropped(self.channel_groups, self.plan())
