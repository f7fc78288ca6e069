"""A progress bar per phase (training, validation, test) on the console."""
import sys

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from gdpseg.registry import HOOKS


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """tqdm bars for training (with the loss and, for GDP, the FLOPs ratio), validation and
    test, on stderr of the main process. Used by the tools' ``--quiet`` mode, where the console
    shows these bars and warnings while the full log goes to the work dir."""

    priority = 'VERY_LOW'

    def __init__(self, desc: str = ''):
        self.desc = desc
        self._bar = None

    def _open(self, total, desc, initial=0):
        from tqdm import tqdm

        self._close()
        if is_main_process():
            self._bar = tqdm(total=total, initial=initial, desc=desc, file=sys.stderr,
                             dynamic_ncols=True, leave=True)

    def _close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _step(self, **postfix):
        if self._bar is not None:
            self._bar.update(1)
            if postfix:
                self._bar.set_postfix(postfix, refresh=False)

    def before_train(self, runner):
        self._open(runner.max_iters, f'{self.desc} train'.strip(), initial=runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        postfix = {}
        loss = (outputs or {}).get('loss')
        if loss is not None:
            value = loss.detach().float().mean() if hasattr(loss, 'detach') else loss
            postfix['loss'] = f'{float(value):.4f}'
        ratio = runner.message_hub.get_scalar('train/gdp_flops_ratio') \
            if 'train/gdp_flops_ratio' in runner.message_hub.log_scalars else None
        if ratio is not None:
            postfix['flops'] = f'{100 * ratio.current():.1f}%'
        self._step(**postfix)
        if runner.iter + 1 >= runner.max_iters:
            self._close()

    def before_val_epoch(self, runner):
        self._train_bar, self._bar = self._bar, None  # keep the training bar for afterwards
        self._open(len(runner.val_dataloader), f'{self.desc} val'.strip())

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._step()

    def after_val_epoch(self, runner, metrics=None):
        self._close()
        self._bar = getattr(self, '_train_bar', None)

    def before_test_epoch(self, runner):
        self._open(len(runner.test_dataloader), f'{self.desc} test'.strip())

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._step()

    def after_test_epoch(self, runner, metrics=None):
        self._close()

    def after_train(self, runner):
        self._close()
