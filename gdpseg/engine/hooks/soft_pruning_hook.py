"""An earlier name of :class:`PruningHook` for Soft Filter Pruning (so old configs keep working)."""
from typing import Optional

from gdpseg.registry import HOOKS

from .pruning_hook import PruningHook


@HOOKS.register_module()
class SoftPruningHook(PruningHook):
    """:class:`PruningHook` under its earlier name, with the zeroing interval that is now the
    model's (``SoftFilterPruning(interval=...)``).

    Args:
        interval: Iterations between zeroings; given here, it replaces the model's.
    """

    def __init__(self, interval: Optional[int] = None):
        if interval is not None and interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval

    def before_run(self, runner):
        if self.interval is not None:
            model = self._model(runner)
            if not hasattr(model, 'interval'):
                raise TypeError(f'SoftPruningHook(interval=...) needs a model with a zeroing '
                                f'interval (SoftFilterPruning), got {type(model).__name__}')
            model.interval = int(self.interval)
