"""The GDP training step inside MMEngine's Runner: proximal gate update and ε decay."""
from typing import Union

from mmengine.hooks import Hook

from gdpseg.core import EpsilonSchedule
from gdpseg.engine.utils import gate_lr, get_gates
from gdpseg.registry import GDP_LAMBDAS, HOOKS


@HOOKS.register_module()
class GDPHook(Hook):
    """After every real optimizer step, apply GDP's proximal step to the gates; decay ε.

    Gradient accumulation and AMP are respected: the step is applied only when the optimizer
    wrapper actually updated the parameters (``optim_wrapper.should_update()``). The gate
    learning rate is read from the optimizer's gate parameter group, so LR schedules apply.
    ε follows :class:`gdpseg.core.EpsilonSchedule` with t the iteration (``by_epoch=False``)
    or epoch, so a resumed run continues the schedule exactly. (Dropout's random state is saved
    by :class:`RNGStateHook`.)

    Args:
        lam: λ, the weight of the normalised resource R/R_full: a number, or the config of a
            λ controller (``dict(type='ConstantLambda', value=...)``, registry ``GDP_LAMBDAS``).
        eps_factor: ε decay factor (paper: 0.97 for DeepLabV3+, 0.96/0.9 for CIFAR/ImageNet).
        eps_period: Steps between decays (paper: 120 iterations for DeepLabV3+).
        by_epoch: Count ε periods in epochs instead of iterations.
        passes: N of Algorithm 1.
        min_eps: Floor of ε.
    """

    priority = 'NORMAL'  # before ParamSchedulerHook ('LOW'): the lr of this step is used

    def __init__(self, lam: Union[float, dict], eps_factor: float = 0.97, eps_period: int = 120,
                 by_epoch: bool = False, passes: int = 1, min_eps: float = 1e-12):
        if isinstance(lam, dict):
            self.lam = GDP_LAMBDAS.build(lam)
        else:
            self.lam = GDP_LAMBDAS.build(dict(type='ConstantLambda', value=lam))
        # validated now, so a wrong setting fails before training starts
        EpsilonSchedule(1.0, eps_factor, eps_period, min_eps)
        self.eps_factor, self.eps_period, self.min_eps = eps_factor, int(eps_period), min_eps
        self.by_epoch, self.passes = by_epoch, int(passes)
        self.schedule = None  # built from the gates' initial ε (or the checkpoint's)
        self._reported = set()  # groups whose death was reported

    def before_train(self, runner):
        if self.schedule is None:  # fresh run; a resumed run restored it in after_load_checkpoint
            self.schedule = EpsilonSchedule(float(get_gates(runner.model).eps), self.eps_factor,
                                            self.eps_period, self.min_eps)
        self._set_eps(runner, runner.epoch if self.by_epoch else runner.iter)

    def _set_eps(self, runner, t):
        eps = self.schedule.eps_at(t)
        get_gates(runner.model).set_eps(eps)
        runner.message_hub.update_info('gdp_eps', eps)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        gates = get_gates(runner.model)
        if runner.optim_wrapper.should_update():
            lam = self.lam(runner, gates)
            runner.message_hub.update_info('gdp_lam', lam)
            alive = [i for i, g in enumerate(gates.groups) if g.prunable and gates.live(i)]
            gates.prox_step(gate_lr(runner.optim_wrapper, gates), lam, self.passes)
            self._report_deaths(runner, gates, [i for i in alive if not gates.live(i)])
        if not self.by_epoch:
            self._set_eps(runner, runner.iter + 1)

    def _report_deaths(self, runner, gates, died):
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
            runner.logger.warning(f'GDP: iteration {runner.iter + 1}: group '
                                  f'{gates.groups[i].name} lost all its channels; {what}')

    def after_train_epoch(self, runner):
        if self.by_epoch:
            self._set_eps(runner, runner.epoch + 1)

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint.setdefault('meta', {})['gdp'] = dict(
            eps0=self.schedule.eps0 if self.schedule else None, eps_factor=self.eps_factor,
            eps_period=self.eps_period, by_epoch=self.by_epoch, lam=self.lam.state_dict())

    def after_load_checkpoint(self, runner, checkpoint):
        state = checkpoint.get('meta', {}).get('gdp')
        if not state:
            return
        if state.get('eps0') is not None:
            self.schedule = EpsilonSchedule(state['eps0'], self.eps_factor, self.eps_period,
                                            self.min_eps)
        if isinstance(state.get('lam'), dict):
            self.lam.load_state_dict(state['lam'])
