"""Learning-rate rewinding (Renda, Frankle & Carbin, 2020): fine-tune a pruned network with the
last part of the baseline's own schedule.

After pruning, the network is retrained for ``t`` iterations with the learning rates the
baseline used over *its* last ``t`` iterations: the schedule is "rewound" to iteration
``T_max − t`` and replayed from there. MMEngine's ``CosineAnnealingLR`` always starts a
half-cosine at the optimizer's lr, so it cannot start part-way; this scheduler can. (A poly
schedule needs no help: the tail of ``(1 − t/T)^p`` is itself a poly schedule, from a lower lr.)
"""
import math

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler

from gdpseg.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class RewoundCosineLR(LRSchedulerMixin, _ParamScheduler):
    """The baseline's cosine schedule, replayed from iteration ``rewind`` on.

    ``lr(k) = eta_min + (lr₀ − eta_min) · (1 + cos(π · min(k + rewind, T_max) / T_max)) / 2``
    where ``lr₀`` is the optimizer's lr (set it to the baseline's) and k counts this run's steps.

    Args:
        optimizer: Wrapped optimizer.
        T_max: Length of the baseline's schedule.
        rewind: Step of the baseline's schedule this run starts at, in ``[0, T_max)``; with
            ``T_max − rewind`` fine-tuning steps, the run replays the baseline's tail exactly.
        eta_min: The baseline's final lr.
        begin, end, last_step, by_epoch, verbose: as in MMEngine's schedulers.
    """

    def __init__(self, optimizer, T_max: int, rewind: int, eta_min: float = 0.0,
                 begin: int = 0, end: int = int(1e9), last_step: int = -1,
                 by_epoch: bool = False, verbose: bool = False):
        if T_max < 1:
            raise ValueError(f'T_max must be >= 1, got {T_max}')
        if not 0 <= rewind < T_max:
            raise ValueError(f'rewind must be in [0, T_max={T_max}), got {rewind}: it is the '
                             f'step of the baseline\'s schedule the fine-tuning starts at')
        self.T_max, self.rewind, self.eta_min = int(T_max), int(rewind), float(eta_min)
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def _value_at(self, base: float, step: int) -> float:
        t = min(step + self.rewind, self.T_max)
        return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2

    def _get_value(self):
        return [self._value_at(base, self.last_step) for base in self.base_values]
