"""The one hook that drives any pruning method's training step inside MMEngine's Runner."""
from mmengine.hooks import Hook

from gdpseg.engine.train_state import TrainState
from gdpseg.engine.utils import unwrap_model
from gdpseg.registry import HOOKS

PROTOCOL = ('before_train', 'after_step', 'after_epoch', 'after_train', 'step_state_dict',
            'load_step_state_dict')


def groups_holding(optimizer, params) -> list:
    """Indices of the optimizer's parameter groups that hold any of ``params``."""
    ids = {id(p) for p in params}
    return [i for i, g in enumerate(optimizer.param_groups)
            if any(id(p) in ids for p in g['params'])]


def lr_of(optim_wrapper, params) -> float:
    """Current learning rate of the optimizer group holding ``params``."""
    optimizer = optim_wrapper.optimizer
    found = groups_holding(optimizer, params)
    if found:
        return float(optimizer.param_groups[found[0]]['lr'])
    raise ValueError('the optimizer has none of these parameters (a method\'s own parameters '
                     'need their own group: GDP builds it with '
                     "constructor='GDPOptimWrapperConstructor')")


@HOOKS.register_module()
class PruningHook(Hook):
    """Call the model's step protocol (``gdpseg.models.PruningAlgorithm``):
    ``before_train``, ``after_step`` after every iteration, ``after_train``, and keep
    ``step_state_dict`` in each checkpoint's ``meta`` so a resumed run continues exactly.

    It runs before the parameter schedulers step (so a method reads this iteration's learning
    rate) and before the checkpoint of an iteration is saved.
    """

    priority = 'NORMAL'  # after OptimWrapper's step, before ParamSchedulerHook (LOW)
    meta_key = 'pruning_step'

    def _model(self, runner):
        model = unwrap_model(runner.model)
        missing = [m for m in PROTOCOL if not callable(getattr(model, m, None))]
        if missing:
            raise TypeError(f'{type(self).__name__} drives a pruning method, and '
                            f'{type(model).__name__} is not one (no {", ".join(missing)}): wrap '
                            "the task model in a method, e.g. model = dict(type='GDPAlgorithm', "
                            'architecture=...)')
        return model

    def state(self, runner, done: int, updated: bool = True):
        """The :class:`TrainState` of ``runner`` after ``done`` iterations."""
        wrapper = runner.optim_wrapper
        hub = runner.message_hub
        return TrainState(
            iter=done, max_iters=runner.max_iters, updated=updated, epoch=runner.epoch,
            lr_of=lambda params: lr_of(wrapper, params),
            optimizer=getattr(wrapper, 'optimizer', None), logger=runner.logger,
            info=hub.update_info, scalar=hub.update_scalar)

    def before_train(self, runner):
        self._model(runner).before_train(self.state(runner, runner.iter))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._model(runner).after_step(self.state(runner, runner.iter + 1,
                                                  runner.optim_wrapper.should_update()))

    def after_train_epoch(self, runner):
        self._model(runner).after_epoch(self.state(runner, runner.iter))

    def after_train(self, runner):
        self._model(runner).after_train(self.state(runner, runner.iter))

    def before_save_checkpoint(self, runner, checkpoint):
        state = self._model(runner).step_state_dict()
        if state:
            checkpoint.setdefault('meta', {})[self.meta_key] = state

    def after_load_checkpoint(self, runner, checkpoint):
        state = checkpoint.get('meta', {}).get(self.meta_key)
        if state:
            self._model(runner).load_step_state_dict(state)
