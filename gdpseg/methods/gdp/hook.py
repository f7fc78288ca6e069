"""GDP inside MMEngine's Runner: the step protocol's hook, with GDP's step settings."""
from typing import Optional, Union

from gdpseg.engine.hooks import PruningHook
from gdpseg.registry import HOOKS

from .step import GDPStep


@HOOKS.register_module()
class GDPHook(PruningHook):
    """:class:`~gdpseg.engine.hooks.PruningHook` with the settings of GDP's step
    (:class:`GDPStep`: λ or its controller, ε's decay), which it hands to the
    :class:`GDPAlgorithm` it drives. The step's state (ε₀, the controller's λ) is kept in each
    checkpoint's ``meta['gdp']``.

    Args: see :class:`GDPStep`.
    """

    meta_key = 'gdp'

    def __init__(self, lam: Union[float, dict], eps_factor: float = 0.97, eps_period: int = 120,
                 by_epoch: bool = False, passes: int = 1, min_eps: float = 1e-12,
                 hold_zeros: Optional[bool] = None):
        self.step = GDPStep(lam, eps_factor, eps_period, by_epoch, passes, min_eps, hold_zeros)

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
