"""Make GDP training visible: scalars at every log interval, pictures at validation and end."""
import json
import os.path as osp

import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from gdpseg.engine.utils import get_gates
from gdpseg.registry import HOOKS
from gdpseg.visualization import plot_flops_curve, plot_gate_histograms, plot_polarization

BINS = np.linspace(0, 1, 41)


def gate_stats(gates, values):
    """Scalars describing the gates now (``values``: ``gates.gate_values()`` as numpy)."""
    plan = gates.plan()
    return {
        'flops_ratio': gates.flops_ratio(plan),
        'resource_ratio': gates.resource_ratio(plan),
        'live_channels': int(sum(gates.live(i) for i, g in enumerate(gates.groups) if g.prunable)),
        'zero_gates': int((values == 0).sum()),
        'mid_gates': float(((values > 0) & (values < 0.9)).mean()) if values.size else 0.0,
        # polarization (paper Fig. 4): shares exactly 0 and >= 0.9; and whole groups lost
        'zero_share': float((values == 0).mean()) if values.size else 0.0,
        'high_share': float((values >= 0.9).mean()) if values.size else 0.0,
        'dead_groups': sum(1 for i, g in enumerate(gates.groups)
                           if g.prunable and not gates.live(i)),
        'eps': float(gates.eps),
    }


@HOOKS.register_module()
class GDPVisualHook(Hook):
    """Log GDP state and draw the gate histogram over time and the FLOPs-ratio curve.

    At every ``interval`` iterations: ``train/gdp_flops_ratio``, ``gdp_live_channels``,
    ``gdp_zero_gates`` (exactly zero), ``gdp_mid_gates`` (share strictly between 0 and 0.9),
    the polarization shares ``gdp_zero_share`` (exactly 0) and ``gdp_high_share`` (>= 0.9),
    ``gdp_dead_groups`` (groups with no channel left), ``gdp_eps`` and ``gdp_lam`` go to the
    logger and every vis backend (local, TensorBoard).
    After each validation and at the end, ``gdp_gate_histogram.png``, ``gdp_flops_ratio.png``
    and ``gdp_polarization.png`` are written to the work dir (and sent to the vis backends),
    with the data behind them in ``gdp_history.json``.
    """

    priority = 55  # after GDPHook (NORMAL = 50), before LoggerHook (BELOW_NORMAL = 60)

    def __init__(self, interval: int = 50):
        self.interval = int(interval)
        self.history = {'iter': [], 'flops_ratio': [], 'resource_ratio': [], 'target': [],
                        'eps': [], 'hist': []}

    def _log(self, runner):
        # every iteration, so the logger's window mean is the state of this interval
        gates = get_gates(runner.model)
        values = gates.gate_values().numpy()
        stats = gate_stats(gates, values)
        for key, value in stats.items():
            runner.message_hub.update_scalar(f'train/gdp_{key}', value)
        for key in ('lam', 'target'):
            value = runner.message_hub.get_info(f'gdp_{key}')
            if value is not None:
                runner.message_hub.update_scalar(f'train/gdp_{key}', value)
        return values, stats

    def _record(self, runner, values=None, stats=None):
        if values is None:
            gates = get_gates(runner.model)
            values = gates.gate_values().numpy()
            stats = gate_stats(gates, values)
        hist, _ = np.histogram(values, bins=BINS)
        self.history['iter'].append(runner.iter + 1)
        self.history['flops_ratio'].append(stats['flops_ratio'])
        self.history.setdefault('resource_ratio', []).append(stats['resource_ratio'])
        self.history.setdefault('target', []).append(runner.message_hub.get_info('gdp_target'))
        self.history['resource'] = type(get_gates(runner.model).resource).__name__
        self.history['eps'].append(stats['eps'])
        for key in ('zero_share', 'high_share', 'dead_groups'):
            self.history.setdefault(key, []).append(stats[key])
        self.history['hist'].append(hist.tolist())

    def before_train(self, runner):
        if not self.history['iter']:
            self._record(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        values, stats = self._log(runner)
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self._record(runner, values, stats)

    def _draw(self, runner):
        if not is_main_process() or not self.history['iter']:
            return
        work_dir = runner.work_dir
        with open(osp.join(work_dir, 'gdp_history.json'), 'w') as f:
            json.dump(self.history, f)
        hist_png = plot_gate_histograms(self.history, BINS,
                                        osp.join(work_dir, 'gdp_gate_histogram.png'))
        curve_png = plot_flops_curve(self.history, osp.join(work_dir, 'gdp_flops_ratio.png'))
        images = [('gdp_gate_histogram', hist_png), ('gdp_flops_ratio', curve_png)]
        if self.history.get('zero_share'):  # (histories from older checkpoints lack it)
            images.append(('gdp_polarization', plot_polarization(
                self.history, osp.join(work_dir, 'gdp_polarization.png'))))
        for name, image in images:
            runner.visualizer.add_image(name, image, step=runner.iter)

    def after_val_epoch(self, runner, metrics=None):
        self._draw(runner)

    def after_train(self, runner):
        self._draw(runner)

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint.setdefault('meta', {})['gdp_history'] = self.history

    def after_load_checkpoint(self, runner, checkpoint):
        self.history = checkpoint.get('meta', {}).get('gdp_history', self.history)
