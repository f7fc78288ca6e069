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
        gate_lr_sum: Scale the gates' learning rate at the start of a run so that its sum over
            the run's iterations, Σ_t η_t (the parameter schedulers applied), is this value:
            the balance between the loss's pull on α and the proximal step's thresholds then
            does not depend on the run's length or schedule (:mod:`.gate_lr`). ``None``: the
            optimizer's gate lr as configured (``gate_lr`` / ``gate_lr_mult``, the paper).
        the rest: see :class:`GDPStep`.
    """

    meta_key = 'gdp'

    def __init__(self, lam: Union[float, dict], eps_factor: float = 0.97, eps_period: int = 120,
                 by_epoch: bool = False, passes: int = 1, min_eps: float = 1e-12,
                 hold_zeros: Optional[bool] = None, gate_lr_sum: Optional[float] = None):
        if gate_lr_sum is not None and not gate_lr_sum > 0:
            raise ValueError(f'gate_lr_sum must be > 0 or None, got {gate_lr_sum}')
        self.step = GDPStep(lam, eps_factor, eps_period, by_epoch, passes, min_eps, hold_zeros)
        self.gate_lr_sum = gate_lr_sum

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
        if self.gate_lr_sum is not None and runner.iter == 0:
            factor = set_gate_lr_sum(runner, self.gate_lr_sum)
            runner.logger.info(f'GDP: gate learning rate x{factor:.4g}, so that its sum over '
                               f'the {runner.max_iters} iterations is {self.gate_lr_sum:g} '
                               '(gate_lr_sum)')
        super().before_train(runner)
