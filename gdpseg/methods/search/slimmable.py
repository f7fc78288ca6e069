"""A weight-sharing (slimmable) network on the engine's channel groups.

Every prunable group orders its channels once by importance (the L1 norm of the filters producing
them, on the weights training starts from: a baseline, or the random initialisation), and a
*width* keeps its leading channels. Each training step runs the sandwich rule of slimmable
networks (Yu & Huang 2019): the largest widths, the smallest (``min_share`` of every group) and
``num_random`` random ones, their gradients summed before one optimizer step, so every subnet
of the space is trained at once. Any widths are then a :class:`~gdpseg.core.PruningPlan` (the
leading channels, no factors) that exports exactly through ``prune``.

With ``skip_blocks=True`` the space also has depth: a group inside a residual branch may go to
width 0, which removes its block (the export replaces it by the identity path, exactly).

With ``resolutions`` the space also has the input resolution (classification): the inputs are
resized (bilinear, antialiased) to the subnet's resolution before the architecture sees them;
the sandwich's largest subnet runs at the largest resolution, the smallest at the smallest, the
random ones at random ones. The FLOPs of a subnet at a resolution are exact: the architecture is
traced once per resolution (a resolution the model cannot take is refused there), and every
FLOPs figure is a share of the full network at the largest resolution, the traced input's.

What is not built: switchable BatchNorm. One set of BatchNorm statistics is shared, the full
network's: only its forward pass updates them. The search scores subnets with batch statistics,
and a found network is fine-tuned or trained from scratch, so its statistics become its own.
"""
import math
import random
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F

from gdpseg.core import ChannelGates, PruningPlan, build_resource, resolve, trace_groups
from gdpseg.core.nested import iter_tensors as _tensors
from gdpseg.engine.bn_recalibration import frozen_bn_statistics
from gdpseg.models.algorithms.base import SoftMaskAlgorithm
from gdpseg.registry import MODELS

from ..continuous_sparsification import relaxed_resource_ratio
from ..importance import filter_l1


class WidthGates(ChannelGates):
    """Masks keeping each group's leading channels: ``1[rank < width]``."""

    def __init__(self, channel_groups):
        super().__init__(channel_groups, init=1.0)
        for a in self.alphas:  # the masks are set, not learned
            a.requires_grad_(False)
        for i, g in enumerate(self.groups):
            self.register_buffer(f'rank{i}', torch.arange(g.size))

    def activation(self, alpha: torch.Tensor) -> torch.Tensor:
        return alpha

    def rank(self, i: int) -> torch.Tensor:
        return getattr(self, f'rank{i}')

    @torch.no_grad()
    def order_by(self, scores: Sequence[torch.Tensor]) -> None:
        """Rank every prunable group's channels by ``scores`` (best first)."""
        for i, (g, s) in enumerate(zip(self.groups, scores)):
            if g.prunable:
                rank = torch.empty(g.size, dtype=torch.long)
                rank[torch.argsort(s, descending=True, stable=True)] = torch.arange(g.size)
                self.rank(i).copy_(rank)

    def widths(self) -> List[int]:
        return [int(a.detach().sum()) if g.prunable else g.size
                for a, g in zip(self.alphas, self.groups)]

    @torch.no_grad()
    def set_widths(self, widths: Sequence[int]) -> None:
        """Keep the ``widths[i]`` leading channels of every prunable group (0 removes it)."""
        if len(widths) != len(self.groups):
            raise ValueError(f'{len(widths)} widths for {len(self.groups)} groups')
        for i, (g, w) in enumerate(zip(self.groups, widths)):
            if g.prunable:
                w = int(w)
                if not 0 <= w <= g.size:
                    raise ValueError(f'group {g.name}: width {w} outside [0, {g.size}]')
                self.alphas[i].copy_((self.rank(i) < w).float())

    def width_plan(self, widths: Optional[Sequence[int]] = None) -> PruningPlan:
        """The plan of ``widths`` (default: the current ones): the leading channels."""
        widths = self.widths() if widths is None else widths
        keep = [torch.nonzero(self.rank(i) < w).flatten() if g.prunable else torch.arange(g.size)
                for i, (g, w) in enumerate(zip(self.groups, widths))]
        return resolve(self.channel_groups, PruningPlan(keep))


@MODELS.register_module()
class SlimmableNetwork(SoftMaskAlgorithm):
    """A task model trained as a slimmable network over its channel groups' widths.

    Args:
        architecture: The task model (config or module).
        min_share: The smallest width of every prunable group, as a share of its channels.
        num_random: Random widths per step besides the largest and the smallest.
        skip_blocks: Let the widths of groups inside a residual branch reach 0, which removes
            the block (the depth dimension): a group is skippable where the network without it
            still depends on its input (checked once, at construction).
        skip_prob: Chance that a random width skips a skippable group.
        widths: The widths :meth:`plan` exports (set by the search; default: all channels).
        resolutions: Input resolutions (the side of a square input) of the space; the largest
            must be the traced input's (``input_shape``). None: the traced input's only.
        resolution: The resolution :meth:`plan` is for (set by the search; default: the
            largest).
        seed: Seed of the random widths.
        **options: What every method shares (``input_shape``, ``forward_mode``, ...).
    """

    def __init__(self, architecture, min_share: float = 0.25, num_random: int = 2,
                 skip_blocks: bool = False, skip_prob: float = 0.25,
                 widths: Optional[Sequence[int]] = None,
                 resolutions: Optional[Sequence[int]] = None, resolution: Optional[int] = None,
                 seed: int = 0, **options):
        if not 0 < min_share <= 1:
            raise ValueError(f'min_share must be in (0, 1], got {min_share}')
        if num_random < 0:
            raise ValueError(f'num_random must be >= 0, got {num_random}')
        super().__init__(architecture, **options)
        self.min_share, self.num_random = float(min_share), int(num_random)
        self.gates = WidthGates(self.channel_groups)
        self._by_resolution = self._trace_resolutions(resolutions)
        self.resolutions = sorted(self._by_resolution)
        self.resolution = self.resolutions[-1]
        if resolution is not None:
            self.set_resolution(resolution)
        self.register_buffer('ordered', torch.tensor(False))
        # training cost: FLOPs of every subnet run, over the full network's, summed over steps
        self.register_buffer('cost_sum', torch.zeros((), dtype=torch.float64))
        self.register_buffer('cost_steps', torch.zeros((), dtype=torch.long))
        self._rng = random.Random(seed)
        self.skip_prob = float(skip_prob)
        self.skippable = self._skippable() if skip_blocks else [False] * len(self.gates.groups)
        if skip_blocks and not any(self.skippable):
            raise ValueError('skip_blocks=True, but no group can be removed without cutting '
                             'the network from its input (no residual branch is prunable)')
        if widths is not None:
            self.gates.set_widths(widths)

    @property
    def native_resolution(self) -> int:
        return int(self.input_shape[-1])

    def _trace_resolutions(self, resolutions) -> dict:
        """resolution -> (channel groups, FLOPs resource) of the architecture at it."""
        native = self.native_resolution
        own = {native: (self.channel_groups, self.gates.resource)}
        if resolutions is None:
            return own
        resolutions = sorted({int(r) for r in resolutions})
        if len(self.input_shape) != 4 or self.input_shape[-2] != native:
            raise ValueError(f'resolutions need a square image input; input_shape is '
                             f'{self.input_shape}')
        if resolutions[-1] != native or resolutions[0] < 1:
            raise ValueError(f'the largest of resolutions={resolutions} must be the traced '
                             f'input\'s, {native} (input_shape={self.input_shape}), and all '
                             'must be >= 1: trace at the largest resolution')
        self.gates.detach()  # trace the bare architecture
        try:
            for r in resolutions[:-1]:
                demo = torch.randn(*self.input_shape[:2], r, r,
                                   generator=torch.Generator().manual_seed(0))
                try:
                    groups = trace_groups(self.architecture, (demo,), verify=False,
                                          **self.trace_options)
                except Exception as e:
                    raise ValueError(f'resolution {r}: the model cannot take a {r}x{r} input '
                                     f'({type(e).__name__}: {e}); leave it out of '
                                     'resolutions') from None
                mine = [(g.name, g.size) for g in self.channel_groups.groups]
                if [(g.name, g.size) for g in groups.groups] != mine:
                    raise ValueError(f'resolution {r}: the channel groups of the model differ from '
                                     f'those at {native} (it changes its structure with the '
                                     'input size); leave it out of resolutions')
                own[r] = (groups, build_resource('flops', groups))
        finally:
            self.gates.attach()
        return own

    def set_resolution(self, resolution: int) -> None:
        """Run the architecture at ``resolution`` (one of ``resolutions``)."""
        if int(resolution) not in self._by_resolution:
            raise ValueError(f'resolution {resolution} is not in the space: {self.resolutions}')
        self.resolution = int(resolution)

    def resized(self, inputs):
        """``inputs`` resized to the current resolution (unchanged when they have it)."""
        if not torch.is_tensor(inputs) or inputs.dim() != 4 or \
                tuple(inputs.shape[-2:]) == (self.resolution, self.resolution):
            return inputs
        return F.interpolate(inputs, size=(self.resolution, self.resolution), mode='bilinear',
                             align_corners=False, antialias=True)

    def full_widths(self) -> List[int]:
        return [g.size for g in self.gates.groups]

    def min_widths(self) -> List[int]:
        return [max(1, math.ceil(self.min_share * g.size)) if g.prunable else g.size
                for g in self.gates.groups]

    @torch.no_grad()
    def _skippable(self) -> List[bool]:
        """Per group: whether the network with the group removed (width 0) still depends on
        its input (the group is inside a residual branch: removing it removes the block)."""
        gates = self.gates
        demo = torch.randn(self.input_shape, generator=torch.Generator().manual_seed(0))
        other = torch.randn(self.input_shape, generator=torch.Generator().manual_seed(1))
        was = self.architecture.training
        self.architecture.eval()
        out = []
        try:
            for i, g in enumerate(gates.groups):
                if not g.prunable:
                    out.append(False)
                    continue
                widths = self.full_widths()
                widths[i] = 0
                gates.set_widths(widths)
                a = self.call_architecture(demo)
                b = self.call_architecture(other)
                out.append(any(not torch.equal(x, y) for x, y in
                               zip(_tensors(a), _tensors(b))))
        finally:
            gates.set_widths(self.full_widths())
            self.architecture.train(was)
        return out

    def smallest_widths(self) -> List[int]:
        """The narrowest widths of the space: skippable groups removed, the others at their
        smallest width."""
        return [0 if skip else w for w, skip in zip(self.min_widths(), self.skippable)]

    def narrower(self, i: int, width: int, step: float) -> Optional[int]:
        """The next narrower width of group ``i`` from ``width`` (``step`` of its channels, not
        below its smallest width; then 0 where the group is skippable), or None."""
        g = self.gates.groups[i]
        low = self.min_widths()[i]
        if not g.prunable or width == 0:
            return None
        if width > low:
            return max(low, width - max(1, math.floor(step * g.size)))
        return 0 if self.skippable[i] else None

    def random_widths(self) -> List[int]:
        return [0 if skip and self._rng.random() < self.skip_prob else self._rng.randint(lo, hi)
                for lo, hi, skip in zip(self.min_widths(), self.full_widths(), self.skippable)]

    def before_train(self, state) -> None:
        # the channel order is fixed once, on the weights training starts from
        if not bool(self.ordered):
            self.gates.order_by(filter_l1(self.channel_groups))
            self.ordered.fill_(True)

    def sandwich(self) -> List[List[int]]:
        """This step's widths: the largest, the smallest and ``num_random`` random ones."""
        return [self.full_widths(), self.min_widths()] + \
            [self.random_widths() for _ in range(self.num_random)]

    def sandwich_resolutions(self) -> List[int]:
        """The resolution of each subnet of :meth:`sandwich`: the largest for the largest, the
        smallest for the smallest, random ones for the random ones."""
        rs = self.resolutions
        return [rs[-1], rs[0]] + [self._rng.choice(rs) for _ in range(self.num_random)]

    def train_step(self, data, optim_wrapper):
        """One optimizer step on the gradients of every width of :meth:`sandwich`."""
        keep, keep_res = self.gates.widths(), self.resolution
        configs = self.sandwich()
        sizes = self.sandwich_resolutions() if len(self.resolutions) > 1 else \
            [self.resolution] * len(configs)
        logs = {}
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
        self._in_step = True
        try:
            for k, (widths, size) in enumerate(zip(configs, sizes)):
                self.gates.set_widths(widths)
                self.resolution = size
                # one set of BatchNorm statistics is shared: the full network's (the first)
                with optim_wrapper.optim_context(self), \
                        frozen_bn_statistics(self.architecture, k > 0):
                    losses = self._run_forward(data, mode='loss')
                loss, log_vars = self.parse_losses(losses)
                optim_wrapper.backward(loss / len(configs))
                name = {0: 'largest', 1: 'smallest'}.get(k, f'random{k - 1}')
                logs[f'loss_{name}'] = log_vars['loss']
                if k == 0:
                    logs.update(log_vars)
            optim_wrapper.step()
            optim_wrapper.zero_grad()
            self.cost_sum += sum(self.flops_ratio(w, r) for w, r in zip(configs, sizes))
            self.cost_steps += 1
        finally:
            self._in_step = False
            self.gates.set_widths(keep)
            self.resolution = keep_res
        return logs

    _in_step = False

    def forward(self, inputs, *args, mode: str = 'tensor', **kwargs):
        if mode == 'loss' and self.training and not self._in_step:
            # a loop that calls the model itself (a distributed wrapper's train_step) would
            # train one width only, silently
            raise RuntimeError('SlimmableNetwork trains through its own train_step (the '
                               "sandwich of widths): run it in MMEngine's Runner without a "
                               'distributed model wrapper (multi-process training of it is '
                               'not supported yet)')
        if len(self.resolutions) > 1 and args and _spatial_labels(args[0]):
            raise ValueError('the resolution dimension resizes the inputs only: a task with '
                             'pixel labels (segmentation) would need them resized too; leave '
                             'resolutions out')
        return super().forward(self.resized(inputs), *args, mode=mode, **kwargs)

    def call_architecture(self, x: torch.Tensor):
        return super().call_architecture(self.resized(x))

    def flops_ratio(self, widths: Sequence[int], resolution: Optional[int] = None) -> float:
        """FLOPs of the subnet of ``widths`` at ``resolution`` (default: the current one) over
        the full network's at the largest (the engine's bilinear model at integer widths: the
        exact conv+linear count of that subnet)."""
        return float(relaxed_resource_ratio(self.resolution_resource(resolution),
                                            self.gates.full_resource_value(), widths))

    def resolution_resource(self, resolution: Optional[int] = None):
        """The FLOPs resource of the architecture at ``resolution`` (default: the current
        one), over :meth:`resolution_groups`."""
        return self._by_resolution[self.resolution if resolution is None
                                   else int(resolution)][1]

    def resolution_groups(self, resolution: Optional[int] = None):
        """The architecture's channel groups traced at ``resolution`` (default: the current
        one): what counts a plan's FLOPs there (the same groups as :attr:`channel_groups`)."""
        return self._by_resolution[self.resolution if resolution is None
                                   else int(resolution)][0]

    def training_cost(self) -> float:
        """FLOPs per training iteration so far over one iteration of the full network: every
        subnet of a step is a forward and backward pass (the sandwich costs more than 1)."""
        steps = int(self.cost_steps)
        return float(self.cost_sum) / steps if steps else 1.0

    def plan(self) -> PruningPlan:
        """The plan of the current widths (the search's, or ``widths``)."""
        return self.gates.width_plan()


def _spatial_labels(data_samples) -> bool:
    """Whether the data samples carry pixel labels (``gt_sem_seg``)."""
    samples = data_samples if isinstance(data_samples, (list, tuple)) else [data_samples]
    return any(hasattr(d, 'gt_sem_seg') for d in samples if d is not None)
