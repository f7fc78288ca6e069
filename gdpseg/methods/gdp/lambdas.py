"""λ controllers: the weight GDP's proximal step gives the resource at each step.

:class:`ConstantLambda` is the paper's setting (λ tuned by hand per ratio: "the pruning ratio
cannot be set in advance"). :class:`TargetLambda` lands training on a budget, a target ratio of
the resource (FLOPs, latency, ...), by adapting λ online:

* The budget is approached along a schedule: the target ratio falls linearly from the ratio at
  the start to ``ratio`` over the first ``ramp`` of the training iterations, then holds. Gates
  are shrunk a little at a time, not all at once when λ finally gets large.
* λ is adapted multiplicatively on the error between the ratio the export would have now (exact,
  :meth:`GateSet.resource_ratio`) and the scheduled one plus a quarter of the tolerance:
  ``log λ += gain · error / (1 − ratio) · 100 / ramp_steps``. The gain is per 1 % of the ramp,
  so the same setting behaves alike on runs of any length. The error is clipped so λ cannot
  wind up while gates are still shrinking toward zero.
* The proximal step never goes below the scheduled ratio (:meth:`GateSet.prox_step` with
  ``min_ratio``): one step that would zero many gates at once is taken with a smaller λ. With
  ``GDPHook``'s ``hold_zeros`` a zero gate stays zero, so the ratio only falls.
* Once the ratio is within half the tolerance of ``ratio``, λ is 0: the zeros are final, the
  surviving α are no longer shrunk and, with ε decaying, their gates polarize toward 1.
* What moves α toward zero is the step's threshold lr·λ, not λ: with ``adapt_threshold``
  (default) the controller adapts the threshold, λ = exp(log λ) · lr₀ / lr_t, so a learning
  rate that decays (cosine, steps) does not stall pruning where the schedule reaches low
  targets late, with little learning rate left (measured: a 10 % FLOPs target ended at 11.2 %
  under a cosine schedule without it). It also keeps λ₀ below right under a schedule.

The first λ is chosen so that the median group's α (starting at ``init``) would reach zero over
the ramp under the penalty alone; the controller corrects it from there.
"""
import math
from typing import Optional

import torch

from gdpseg.registry import GDP_LAMBDAS


class LambdaController:
    """What :class:`GDPHook` asks of a λ controller before each proximal step.

    ``controller(state, gates) -> λ`` (``state``: the step's
    :class:`~gdpseg.engine.train_state.TrainState`); what a resumed run needs goes through
    :meth:`state_dict` / :meth:`load_state_dict` (saved in checkpoints by the hook). A
    controller may set ``hold_zeros = True`` (zeroed α keep no optimizer momentum) and expose
    ``min_ratio`` (a floor the proximal step does not go below).
    """

    hold_zeros = False
    min_ratio = None
    # whether λ is derived from the gates' learning rate, so that the thresholds' sum does not
    # change with it (then GDPHook's min_gate_lr_sum changes the loss's weight only)
    follows_lr = False

    def __call__(self, state, gates) -> float:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


@GDP_LAMBDAS.register_module()
class ConstantLambda(LambdaController):
    """λ that never changes.

    Args:
        value: λ, the weight of the normalised resource R/R_full (>= 0).
    """

    def __init__(self, value: float):
        if not value >= 0:
            raise ValueError(f'lam must be >= 0, got {value}')
        self.value = float(value)

    def __call__(self, state, gates) -> float:
        return self.value

    def __repr__(self):
        return f'ConstantLambda({self.value})'


@GDP_LAMBDAS.register_module()
class TargetLambda(LambdaController):
    """Adapt λ so that training ends at a target ratio of the gates' resource.

    Args:
        ratio: Target ratio of the resource (e.g. 0.35 of the FLOPs), in (0, 1).
        value: Target in the resource's own units instead (e.g. milliseconds for the latency
            resource, multiply-adds for FLOPs); turned into a ratio at the first step.
        ramp: Share of the training iterations over which the scheduled ratio falls to the
            target (the rest holds it, for the gates to settle).
        gain: Change of log λ per unit of normalised error per 1 % of the ramp.
        tolerance: Width of the band above the target that training settles in (the
            hook warns at the end when the ratio is farther than this from the target).
        init: First λ; ``None`` derives it from the resource and the gate learning rate.
        max_factor: λ stays within ``[λ₀ / max_factor, λ₀ · max_factor]`` (with
            ``adapt_threshold``, the threshold's scale λ · lr_t / lr₀ does).
        adapt_threshold: Divide λ by the gates' learning rate relative to the first step's, so the
            controller adapts the proximal threshold lr·λ. ``False``: λ itself is adapted
            (the earlier controller; it lags behind low targets under a decaying learning
            rate). A checkpoint saved by the earlier controller resumes without it.
    """

    def __init__(self, ratio: Optional[float] = None, value: Optional[float] = None,
                 ramp: float = 0.6, gain: float = 0.5, tolerance: float = 0.01,
                 init: Optional[float] = None, max_factor: float = 1e4,
                 adapt_threshold: bool = True):
        if (ratio is None) == (value is None):
            raise ValueError('give the target as ratio=... (share of the full resource) or as '
                             'value=... (in the resource\'s units), not both or neither')
        if ratio is not None and not 0 < ratio < 1:
            raise ValueError(f'target ratio must be in (0, 1), got {ratio}')
        if value is not None and not value > 0:
            raise ValueError(f'target value must be > 0, got {value}')
        if not 0 < ramp <= 1:
            raise ValueError(f'ramp must be in (0, 1], got {ramp}')
        if not (gain > 0 and tolerance > 0 and max_factor > 1):
            raise ValueError('gain and tolerance must be > 0 and max_factor > 1')
        if init is not None and not init > 0:
            raise ValueError(f'init must be > 0, got {init}')
        self.ratio = ratio
        self.value = value
        self.ramp, self.gain, self.tolerance = float(ramp), float(gain), float(tolerance)
        self.init, self.max_factor = init, float(max_factor)
        self.adapt_threshold = bool(adapt_threshold)
        self.lr0: Optional[float] = None  # the gates' learning rate at the first step
        self.start: Optional[float] = None  # ratio at the first step
        self.lam0: Optional[float] = None
        self.log_lam: Optional[float] = None
        self.target_now: Optional[float] = None

    hold_zeros = True  # GDPHook keeps zeroed α at zero: the measured ratio only falls

    @property
    def follows_lr(self) -> bool:
        return self.init is None  # λ₀ from the gate lr, unless given

    @property
    def min_ratio(self) -> Optional[float]:
        """The floor GDPHook passes to the proximal step: the scheduled ratio, so pruning
        follows the schedule from above and never runs ahead of it."""
        if self.target_now is None:
            return self.ratio
        return max(self.ratio, self.target_now)

    def _first_step(self, state, gates) -> None:
        self.lr0 = float(state.lr_of(gates.parameters()))
        full = gates.full_resource_value()
        if self.ratio is None:
            self.ratio = self.value / full
            if not 0 < self.ratio < 1:
                raise ValueError(f'target value {self.value} is {self.ratio:.3f} of the full '
                                 f'network\'s {full:.4g}: it must be below it')
        lowest = gates.smallest_ratio()
        if self.ratio < lowest:
            raise ValueError(
                f'TargetLambda: a ratio of {self.ratio:g} cannot be reached: the smallest this '
                f'network can be pruned to is {lowest:.4f} of its resource (the groups kept '
                'alive so every output still depends on the input keep max(1, min_channels) '
                f'channels, the rest dies). Ask for a ratio of at least {lowest:.4f}, or lower '
                'min_channels')
        self.start = gates.resource_ratio()
        if self.start <= self.ratio:
            state.logger.warning(f'GDP: the network is at {self.start:.4f} of its resource, '
                                  f'already within the target {self.ratio:.4f}')
        if self.init is not None:
            self.lam0 = float(self.init)
        else:
            # λ at which the median α would shrink from its value to 0 over the ramp
            sizes = [g.size for g in gates.groups]
            coef = gates.resource.grad(sizes) / gates.resource.value(sizes)
            prunable = [i for i, g in enumerate(gates.groups) if g.prunable]
            per_group = torch.stack([coef[i] for i in prunable]) if prunable else None
            scale = float(per_group.median()) if per_group is not None else 0.0
            alpha = float(torch.cat([gates.alphas[i].detach().abs() for i in prunable])
                          .median()) if prunable else 1.0
            lr = self.lr0
            steps = max(1, self._ramp_steps(state))
            self.lam0 = alpha / (steps * lr * scale) if scale > 0 and lr > 0 else 1.0
        self.log_lam = math.log(self.lam0)

    def _ramp_steps(self, state) -> int:
        return max(1, int(round(self.ramp * state.max_iters)))

    def scheduled(self, state) -> float:
        """The ratio the schedule asks for at this iteration."""
        frac = min(1.0, state.iter / self._ramp_steps(state))
        return self.start + (self.ratio - self.start) * frac if self.start > self.ratio \
            else self.ratio

    def __call__(self, state, gates) -> float:
        if self.log_lam is None:
            self._first_step(state, gates)
        now = gates.resource_ratio()
        self.target_now = self.scheduled(state)
        state.info('gdp_target', self.target_now)
        if now <= self.ratio + 0.5 * self.tolerance:
            return 0.0  # landed: zeros are final; the survivors' gates may polarize
        span = max(1.0 - self.ratio, 1e-3)
        # the floor keeps `now` at or above the schedule: at it, λ eases off slowly
        error = (now - self.target_now - 0.25 * self.tolerance) / span
        error = max(-0.5, min(0.5, error))  # no windup while α are still on their way to 0
        self.log_lam += self.gain * error * 100.0 / self._ramp_steps(state)
        bound = math.log(self.max_factor)
        base = math.log(self.lam0)
        self.log_lam = min(base + bound, max(base - bound, self.log_lam))
        lam = math.exp(self.log_lam)
        if self.adapt_threshold:
            lr = float(state.lr_of(gates.parameters()))
            if lr > 0 and self.lr0 and self.lr0 > 0:
                lam *= self.lr0 / lr  # at lr = 0 no threshold moves anything
        return lam

    def state_dict(self) -> dict:
        return dict(ratio=self.ratio, start=self.start, lam0=self.lam0, log_lam=self.log_lam,
                    lr0=self.lr0)

    def load_state_dict(self, state: dict) -> None:
        # a target given as a value was turned into a ratio at the first step; a ratio given
        # in the config wins over the checkpoint's
        keys = ('start', 'lam0', 'log_lam', 'lr0') + (('ratio',) if self.ratio is None else ())
        for key in keys:
            if state.get(key) is not None:
                setattr(self, key, state[key])

    def __repr__(self):
        target = f'ratio={self.ratio}' if self.ratio is not None else f'value={self.value}'
        return (f'TargetLambda({target}, ramp={self.ramp}, gain={self.gain}, '
                f'tolerance={self.tolerance}, adapt_threshold={self.adapt_threshold})')
