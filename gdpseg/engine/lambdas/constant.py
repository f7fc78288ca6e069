"""A fixed λ: the paper's setting (λ tuned by hand per target ratio)."""
from gdpseg.registry import GDP_LAMBDAS


@GDP_LAMBDAS.register_module()
class ConstantLambda:
    """λ that never changes.

    A λ controller is called by :class:`~gdpseg.engine.hooks.GDPHook` before each proximal step
    as ``controller(runner, gates) -> float`` and may keep state for resuming through
    ``state_dict()`` / ``load_state_dict()`` (a target-ratio controller adapts λ there).

    Args:
        value: λ, the weight of the normalised resource R/R_full (>= 0).
    """

    def __init__(self, value: float):
        if not value >= 0:
            raise ValueError(f'lam must be >= 0, got {value}')
        self.value = float(value)

    def __call__(self, runner, gates) -> float:
        return self.value

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def __repr__(self):
        return f'ConstantLambda({self.value})'
