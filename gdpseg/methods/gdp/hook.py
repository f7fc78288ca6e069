"""GDP inside MMEngine's Runner: the step protocol's hook, with GDP's step settings."""
from typing import Optional, Union

from gdpseg.engine.hooks import PruningHook
from gdpseg.registry import HOOKS

from .gate_lr import set_gate_lr_sum
from .step import GDPStep


@HOOKS.register_module()
class GDPHook(PruningHook):
    """:class:`~gdpseg.engine.hooks.PruningHook` with the settings of GDP's step
    (:class:`GDPStep`: λ or its controller, ε's decay), which it hands to the
    :class:`GDPAlgorithm` it drives. The step's state (ε₀, the controller's λ) is kept in each
    checkpoint's ``meta['gdp']``.

    Args:
        min_gate_lr_sum: Raise the gates' learning rate at the start of a run so that its sum
            over the run's iterations, Σ_t η_t (the parameter schedulers applied), is at least
            this value (never lowered): with ``TargetLambda``, the loss's pull on α then keeps
            its weight against the proximal thresholds in short runs (:mod:`.gate_lr`; for
            SGD). Not applied with a constant λ, where a larger lr would prune more. ``None``:
            the optimizer's gate lr as configured (the paper).
        gate_lr_sum: The same, but exactly this sum (raised or lowered).
        max_gate_lr: Either way the gates' learning rate is never raised above this value at
            any iteration (a run too short to reach the sum below it gets less: a few
            iterations at a learning rate of tens would throw α far past 0 and 1).
        the rest: see :class:`GDPStep`.
    """

    meta_key = 'gdp'

    def __init__(self, lam: Union[float, dict], eps_factor: float = 0.97, eps_period: int = 120,
                 by_epoch: bool = False, passes: int = 1, min_eps: float = 1e-12,
                 hold_zeros: Optional[bool] = None, min_gate_lr_sum: Optional[float] = None,
                 gate_lr_sum: Optional[float] = None, max_gate_lr: float = 1.0):
        for name, value in (('min_gate_lr_sum', min_gate_lr_sum), ('gate_lr_sum', gate_lr_sum)):
            if value is not None and not value > 0:
                raise ValueError(f'{name} must be > 0 or None, got {value}')
        if min_gate_lr_sum is not None and gate_lr_sum is not None:
            raise ValueError('give min_gate_lr_sum (a floor) or gate_lr_sum (exact), not both')
        self.step = GDPStep(lam, eps_factor, eps_period, by_epoch, passes, min_eps, hold_zeros)
        self.gate_lr_sum = gate_lr_sum if gate_lr_sum is not None else min_gate_lr_sum
        self.floor = gate_lr_sum is None
        if not max_gate_lr > 0:
            raise ValueError(f'max_gate_lr must be > 0, got {max_gate_lr}')
        self.max_gate_lr = float(max_gate_lr)

    @property
    def lam(self):
        """The λ controller."""
        return self.step.lam

    def _model(self, runner):
        model = super()._model(runner)
        if not hasattr(model, 'use_step'):
            raise TypeError(f'GDPHook drives GDP, and {type(model).__name__} is another '
                            "method: use dict(type='PruningHook'), or wrap the task model in "
                            "model = dict(type='GDPAlgorithm', architecture=...)")
        if model.gdp_step is not self.step:
            model.use_step(self.step)
        return model

    def before_run(self, runner):
        self._model(runner)  # before a resumed checkpoint restores the step's state

    def before_train(self, runner):
        # a fresh run only: a resumed one restored the scaled lr with the optimizer
        if (self.gate_lr_sum is not None and runner.iter == 0
                and not getattr(self.lam, 'follows_lr', False)):
            runner.logger.warning(
                f'GDP: {"min_gate_lr_sum" if self.floor else "gate_lr_sum"} is not applied: '
                f'with {type(self.lam).__name__} λ does not follow the gates\' learning rate, so '
                'a larger one would prune more, not weigh the loss more (use TargetLambda, or '
                'set it to None)')
        elif self.gate_lr_sum is not None and runner.iter == 0:
            factor = set_gate_lr_sum(runner, self.gate_lr_sum, self.floor, self.max_gate_lr)
            what = 'min_gate_lr_sum' if self.floor else 'gate_lr_sum'
            runner.logger.info(
                f'GDP: gate learning rate x{factor:.4g} for {what}={self.gate_lr_sum:g} over '
                f'{runner.max_iters} iterations (at most {self.max_gate_lr:g} per iteration)')
        super().before_train(runner)
