"""GDP's training step: after every optimizer step, the proximal step on the gates with λ from
a controller, and ε's decay (paper Algorithm 1 inside any training loop)."""
from typing import Optional, Union

import torch

from gdpseg.registry import GDP_LAMBDAS

from .schedule import EpsilonSchedule


@torch.no_grad()
def clear_zeroed_state(optimizer, gates) -> None:
    """Zero the optimizer state entries (momentum, moments) of every α that is exactly 0."""
    for alpha, group in zip(gates.alphas, gates.groups):
        if not group.prunable:
            continue
        zero = alpha == 0
        if not bool(zero.any()):
            continue
        for value in optimizer.state.get(alpha, {}).values():
            if torch.is_tensor(value) and value.shape == alpha.shape:
                value[zero] = 0


class GDPStep:
    """The settings and state of GDP's step; :class:`GDPAlgorithm` runs it from its step
    protocol (``before_train`` / ``after_step`` / ``after_train``), fed by :class:`GDPHook`.

    The proximal step is applied only when the optimizer actually updated the parameters
    (``state.updated``: gradient accumulation and AMP are respected). The gates' learning rate
    is read from their optimizer group (``state.lr_of``), so LR schedules apply. ε follows
    :class:`EpsilonSchedule` with t the iteration (``by_epoch=False``) or epoch, so a resumed
    run continues the schedule exactly.

    Args:
        lam: λ, the weight of the normalised resource R/R_full: a number, or the config of a
            λ controller (``dict(type='TargetLambda', ratio=...)``, registry ``GDP_LAMBDAS``).
        eps_factor: ε decay factor (paper: 0.97 for DeepLabV3+, 0.96/0.9 for CIFAR/ImageNet).
        eps_period: Steps between decays (paper: 120 iterations for DeepLabV3+).
        by_epoch: Count ε periods in epochs instead of iterations.
        passes: N of Algorithm 1.
        min_eps: Floor of ε.
        hold_zeros: Clear the optimizer's state (momentum, Adam moments) of every α the
            proximal step set to zero, so a zero gate stays zero (dg/dα = 0 at α = 0, so only
            momentum can move it). Without this, SGD's momentum moves every freshly zeroed α
            off zero at the next step, and only the next proximal step zeroes it again: the
            width the resource sees flickers, which a budget controller cannot measure
            through. ``None`` (default): on when the λ controller asks for it
            (``TargetLambda`` does), off otherwise -- the paper's plain optimizer.
    """

    def __init__(self, lam: Union[float, dict], eps_factor: float = 0.97, eps_period: int = 120,
                 by_epoch: bool = False, passes: int = 1, min_eps: float = 1e-12,
                 hold_zeros: Optional[bool] = None):
        if isinstance(lam, dict):
            self.lam = GDP_LAMBDAS.build(lam)
        else:
            self.lam = GDP_LAMBDAS.build(dict(type='ConstantLambda', value=lam))
        # validated now, so a wrong setting fails before training starts
        EpsilonSchedule(1.0, eps_factor, eps_period, min_eps)
        self.eps_factor, self.eps_period, self.min_eps = eps_factor, int(eps_period), min_eps
        self.by_epoch, self.passes = by_epoch, int(passes)
        self.hold_zeros = bool(getattr(self.lam, 'hold_zeros', False)) if hold_zeros is None \
            else bool(hold_zeros)
        self.schedule = None  # built from the gates' initial ε (or the checkpoint's)
        self._reported = set()  # groups whose death was reported

    def before_train(self, gates, state) -> None:
        if self.schedule is None:  # fresh run; a resumed run restored it in load_state_dict
            self.schedule = EpsilonSchedule(float(gates.eps), self.eps_factor, self.eps_period,
                                            self.min_eps)
        self._set_eps(gates, state, state.epoch if self.by_epoch else state.iter)

    def _set_eps(self, gates, state, t) -> None:
        eps = self.schedule.eps_at(t)
        gates.set_eps(eps)
        state.info('gdp_eps', eps)

    def after_step(self, gates, state) -> None:
        if state.updated:
            lam = self.lam(state, gates)
            alive = [i for i, g in enumerate(gates.groups) if g.prunable and gates.live(i)]
            lam = gates.prox_step(state.lr_of(gates.parameters()), lam, self.passes,
                                  min_ratio=getattr(self.lam, 'min_ratio', None))
            state.info('gdp_lam', lam)
            if self.hold_zeros:
                clear_zeroed_state(state.optimizer, gates)
            self._report_deaths(gates, state, [i for i in alive if not gates.live(i)])
        if not self.by_epoch:
            self._set_eps(gates, state, state.iter)

    def after_epoch(self, gates, state) -> None:
        if self.by_epoch:
            self._set_eps(gates, state, state.epoch + 1)

    def _report_deaths(self, gates, state, died) -> None:
        """One warning per group, the first time all its gates reach zero. (With momentum, the
        optimizer can move a zeroed α off zero again; the next proximal step usually zeroes it
        again, which is not reported twice.)"""
        cut = set(gates.channel_groups.cut_groups())
        for i in died:
            if i in self._reported:
                continue
            self._reported.add(i)
            what = ('the output no longer depends on the input (keep_connected=False)'
                    if i in cut else 'the export drops the layers that only it feeds')
            state.logger.warning(f'GDP: iteration {state.iter}: group '
                                 f'{gates.groups[i].name} lost all its channels; {what}')

    def after_train(self, gates, state) -> None:
        """Say where training ended: resource ratio (and target), and how polarized the gates
        are -- exactly zero, at least 0.9, or in between (paper Fig. 4)."""
        values = gates.gate_values()
        n = max(1, values.numel())
        zero, high = int((values == 0).sum()), int((values >= 0.9).sum())
        ratio = gates.resource_ratio()
        target = getattr(self.lam, 'ratio', None)
        msg = (f'GDP: training ended at {type(gates.resource).__name__} ratio {ratio:.4f}'
               + (f' (target {target:.4f})' if target is not None else '')
               + f'; gates: {100 * zero / n:.1f} % exactly 0, {100 * high / n:.1f} % >= 0.9, '
               f'{100 * (n - zero - high) / n:.1f} % in between')
        state.logger.info(msg)
        self._report_bottlenecks(gates, state)
        tol = getattr(self.lam, 'tolerance', None)
        if target is not None and tol is not None and abs(ratio - target) > tol:
            state.logger.warning(
                f'GDP: the ratio {ratio:.4f} misses the target {target:.4f} by more than '
                f'{tol:.4f}: train longer, or raise the controller\'s gain or init')

    @staticmethod
    def _report_bottlenecks(gates, state) -> None:
        """Warn about each group that every input-to-output path crosses (kept alive by
        ``keep_connected``) and that ended at its floor of channels: the whole network then
        passes through a few channels, which a FLOPs-first prune of a high-resolution stem or
        trunk can reach without any group dying."""
        floor = max(1, gates.min_channels)
        for i in gates.channel_groups.cut_groups():
            g, live = gates.groups[i], gates.live(i)
            if g.prunable and g.size > floor and live <= floor:
                state.logger.warning(
                    f'GDP: group {g.name} ended with {live} of {g.size} channels and every path '
                    f'from the input to an output crosses it: the network passes through a '
                    f'{live}-channel bottleneck. If the metric suffers, raise min_channels, the '
                    f'gates\' learning rate (gate_lr_mult) or the FLOPs ratio')

    def state_dict(self) -> dict:
        return dict(eps0=self.schedule.eps0 if self.schedule else None,
                    eps_factor=self.eps_factor, eps_period=self.eps_period,
                    by_epoch=self.by_epoch, lam=self.lam.state_dict())

    def load_state_dict(self, state: dict) -> None:
        if state.get('eps0') is not None:
            self.schedule = EpsilonSchedule(state['eps0'], self.eps_factor, self.eps_period,
                                            self.min_eps)
        if isinstance(state.get('lam'), dict):
            self.lam.load_state_dict(state['lam'])
