"""The GDP training step inside MMEngine's Runner: proximal gate update and ε decay."""
import torch
from mmengine.hooks import Hook

from gdpseg.engine.utils import gate_lr, get_gates
from gdpseg.registry import HOOKS


@HOOKS.register_module()
class GDPHook(Hook):
    """After every real optimizer step, apply GDP's proximal step to the gates; decay ε.

    Gradient accumulation and AMP are respected: the step is applied only when the optimizer
    wrapper actually updated the parameters (``optim_wrapper.should_update()``). The gate
    learning rate is read from the optimizer's gate parameter group, so LR schedules apply.
    ε follows ``eps0 · eps_factor ** (t // eps_period)`` with t the iteration (``by_epoch=False``)
    or epoch, so a resumed run continues the schedule exactly. Checkpoints also carry torch's
    random state (dropout), so ``--resume`` continues with the same gates as an uninterrupted
    run when the data pipeline is deterministic (MMEngine reseeds augmentations on resume).

    Args:
        lam: λ, the weight of the normalised FLOPs R/R_full.
        eps_factor: ε decay factor (paper: 0.97 for DeepLabV3+, 0.96/0.9 for CIFAR/ImageNet).
        eps_period: Steps between decays (paper: 120 iterations for DeepLabV3+).
        by_epoch: Count ε periods in epochs instead of iterations.
        passes: N of Algorithm 1.
    """

    priority = 'NORMAL'  # before ParamSchedulerHook ('LOW'): the lr of this step is used

    def __init__(self, lam: float, eps_factor: float = 0.97, eps_period: int = 120,
                 by_epoch: bool = False, passes: int = 1):
        if lam < 0:
            raise ValueError(f'lam must be >= 0, got {lam}')
        if not 0 < eps_factor <= 1 or eps_period < 1:
            raise ValueError('eps_factor must be in (0, 1] and eps_period >= 1, got '
                             f'{eps_factor}, {eps_period}')
        self.lam, self.eps_factor, self.eps_period = float(lam), eps_factor, int(eps_period)
        self.by_epoch, self.passes = by_epoch, int(passes)
        self.eps0 = None

    def before_train(self, runner):
        gates = get_gates(runner.model)
        if self.eps0 is None:  # fresh run; a resumed run restored it in after_load_checkpoint
            self.eps0 = float(gates.eps)
        self._set_eps(runner, runner.epoch if self.by_epoch else runner.iter)

    def _set_eps(self, runner, t):
        eps = self.eps0 * self.eps_factor ** (t // self.eps_period)
        get_gates(runner.model).set_eps(eps)
        runner.message_hub.update_info('gdp_eps', eps)
        runner.message_hub.update_info('gdp_lam', self.lam)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        gates = get_gates(runner.model)
        if runner.optim_wrapper.should_update():
            gates.prox_step(gate_lr(runner.optim_wrapper, gates), self.lam, self.passes)
        if not self.by_epoch:
            self._set_eps(runner, runner.iter + 1)

    def after_train_epoch(self, runner):
        if self.by_epoch:
            self._set_eps(runner, runner.epoch + 1)

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint.setdefault('meta', {})['gdp'] = dict(
            eps0=self.eps0, lam=self.lam, eps_factor=self.eps_factor,
            eps_period=self.eps_period, by_epoch=self.by_epoch,
            torch_rng=torch.get_rng_state(),
            cuda_rng=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [])

    def after_load_checkpoint(self, runner, checkpoint):
        state = checkpoint.get('meta', {}).get('gdp')
        if not state:
            return
        self.eps0 = state['eps0']
        if 'torch_rng' in state:
            torch.set_rng_state(state['torch_rng'])
            if state.get('cuda_rng') and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(state['cuda_rng'])
