"""Stop training at the first non-finite loss or gate, before anything is saved."""
import math

import torch
from mmengine.hooks import Hook

from gdpseg.engine.utils import unwrap_model
from gdpseg.registry import HOOKS


class TrainingDivergedError(RuntimeError):
    """Training produced NaN/inf; raised before the iteration's checkpoint is written."""


def _value(v):
    if isinstance(v, torch.Tensor):
        return float(v.detach().float().mean()) if v.numel() else 0.0
    return float(v)


@HOOKS.register_module()
class FiniteCheckHook(Hook):
    """After every iteration, check that the losses (and GDP's α and ε, when the model has
    gates) are finite; raise :class:`TrainingDivergedError` naming the iteration otherwise.

    It runs after the GDP step and before the checkpoint and logger hooks, so a diverged
    iteration writes no checkpoint over the good ones.
    """

    priority = 52  # after GDPHook (50), before GDPVisualHook (55), logger (60), checkpoint (90)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        bad = [k for k, v in (outputs or {}).items() if not math.isfinite(_value(v))]
        model = unwrap_model(runner.model)
        gates = getattr(model, 'gates', None)
        if gates is not None:
            if not math.isfinite(float(gates.eps)) or float(gates.eps) <= 0:
                bad.append(f'ε={float(gates.eps)}')
            nan_groups = [g.name for g, a in zip(gates.groups, gates.alphas)
                          if not bool(torch.isfinite(a.detach()).all())]
            if nan_groups:
                bad.append(f'gate α of {len(nan_groups)} groups ({", ".join(nan_groups[:3])}'
                           f'{", ..." if len(nan_groups) > 3 else ""})')
        if not bad:
            return
        lrs = sorted({f'{g["lr"]:.3g}' for g in runner.optim_wrapper.optimizer.param_groups})
        last = runner.message_hub.get_info('last_ckpt')
        raise TrainingDivergedError(
            f'training diverged at iteration {runner.iter + 1}: {", ".join(bad)} not finite. '
            f'Likely causes: a learning rate too high (now {", ".join(lrs)}), a too large λ '
            'or gate lr, or broken input data. Nothing was saved after this iteration'
            + (f'; the last checkpoint is {last}' if last else '') + '.')
