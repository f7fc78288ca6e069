"""A method's temperature over training (continuous sparsification's β) inside the Runner."""
from mmengine.hooks import Hook

from gdpseg.engine.utils import unwrap_model
from gdpseg.registry import HOOKS


@HOOKS.register_module()
class AnnealHook(Hook):
    """Call the model's ``anneal(progress)`` with the share of training done
    (``iter / max_iters``) before training and after every iteration, so each iteration runs at
    its share and the last checkpoint holds the final value (``progress = 1``); log it as
    ``train/anneal``. A resumed run continues where it stopped: the share comes from the
    iteration."""

    priority = 'ABOVE_NORMAL'  # before CheckpointHook (VERY_LOW) saves this iteration

    def _anneal(self, runner, done):
        model = unwrap_model(runner.model)
        if not hasattr(model, 'anneal'):
            raise TypeError(f'AnnealHook needs a model with anneal(progress) '
                            f'(ContinuousSparsification), got {type(model).__name__}')
        return model.anneal(done / max(1, runner.max_iters))

    def before_train(self, runner):
        self._anneal(runner, runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        runner.message_hub.update_scalar('train/anneal', self._anneal(runner, runner.iter + 1))
