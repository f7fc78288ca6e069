"""The zeroing step of soft pruning methods (Soft Filter Pruning) inside the Runner."""
from mmengine.hooks import Hook

from gdpseg.engine.utils import unwrap_model
from gdpseg.registry import HOOKS


@HOOKS.register_module()
class SoftPruningHook(Hook):
    """Call the model's ``soften()`` every ``interval`` iterations and when training ends, so
    the last checkpoint holds the zeroed weights the export drops.

    Args:
        interval: Iterations between zeroings (SFP: one epoch).
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 100):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = int(interval)

    def _soften(self, runner):
        model = unwrap_model(runner.model)
        if not hasattr(model, 'soften'):
            raise TypeError(f'SoftPruningHook needs a model with soften() (SoftFilterPruning), '
                            f'got {type(model).__name__}')
        zeroed = model.soften()
        runner.message_hub.update_scalar('train/soft_zeroed_channels', zeroed)

    def before_train(self, runner):
        self._soften(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.every_n_train_iters(runner, self.interval):
            self._soften(runner)

    def after_train(self, runner):
        self._soften(runner)
