"""Stop training at the first non-finite or exploding state, before anything is saved."""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook

from gdpseg.engine.checkpoint import work_dir_checkpoints
from gdpseg.engine.utils import unwrap_model
from gdpseg.registry import HOOKS
from gdpseg.utils.errors import UserError, first_line


class TrainingDivergedError(UserError, RuntimeError):
    """Training produced NaN/inf or an exploding loss; raised before the iteration's checkpoint
    is written."""


def _value(v):
    if isinstance(v, torch.Tensor):
        return float(v.detach().float().mean()) if v.numel() else 0.0
    return float(v)


def nonfinite_tensors(state) -> list:
    """Names of the tensors of a state dict (or a model's) that hold NaN or inf."""
    items = state.items() if isinstance(state, dict) else \
        list(state.named_parameters()) + list(state.named_buffers())
    items = [(k, t.detach()) for k, t in items
             if isinstance(t, torch.Tensor) and t.is_floating_point() and t.numel()]
    if not items:
        return []
    # one reduction (one device sync) in the common case where all are finite
    finite = torch.stack([torch.isfinite(t).all() for _, t in items])
    if bool(finite.all()):
        return []
    return [k for (k, _), ok in zip(items, finite.tolist()) if not ok]


def checkpoint_problem(path: str) -> Optional[str]:
    """Why a checkpoint is no good to go back to (unreadable, or non-finite tensors), or None."""
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001  (any failure means: do not go back to it)
        return f'unreadable: {first_line(exc)}'
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        return 'holds no state_dict'
    bad = nonfinite_tensors(state)
    return f'{len(bad)} non-finite tensors ({", ".join(bad[:2])})' if bad else None


def last_good_checkpoint(work_dir: str, newest: Optional[str] = None) -> Optional[str]:
    """The newest checkpoint of ``work_dir`` that loads and holds only finite tensors."""
    found = work_dir_checkpoints(work_dir, [newest])
    return next((p for p in found if checkpoint_problem(p) is None), None)


@HOOKS.register_module()
class FiniteCheckHook(Hook):
    """After every iteration, check the whole training state before a checkpoint can be written:
    the losses are finite and not exploding, every parameter and buffer of the model (BatchNorm
    statistics included) is finite, and so are GDP's α and ε. Otherwise raise
    :class:`TrainingDivergedError` naming the iteration, the likely cause and the last
    checkpoint that loads with finite weights.

    It runs after the GDP step and before the checkpoint and logger hooks, so a diverged
    iteration writes no checkpoint, and deletes none of the older ones.

    Args:
        loss_factor: A loss above this multiple of the median of the first ``window`` losses
            counts as diverged (its weights are already garbage though still finite). A median
            below 1 counts as 1, so that the near-zero loss of a converged baseline does not
            make a chance-level loss after pruning look like divergence. ``None``: only
            non-finite values count.
        window: Iterations whose losses set the reference.
    """

    priority = 52  # after GDPHook (50), before GDPVisualHook (55), logger (60), checkpoint (90)

    def __init__(self, loss_factor: Optional[float] = 1e4, window: int = 5):
        if loss_factor is not None and not loss_factor > 1:
            raise ValueError(f'FiniteCheckHook: loss_factor must be > 1 or None, got '
                             f'{loss_factor}')
        self.loss_factor = loss_factor
        self.window = int(window)
        self._first = []

    def before_train(self, runner):
        self._first = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        outputs = outputs or {}
        bad = [k for k, v in outputs.items() if not math.isfinite(_value(v))]
        cause = None
        model = unwrap_model(runner.model)
        gates = getattr(model, 'gates', None)
        if gates is not None and hasattr(gates, 'eps'):
            eps = float(gates.eps)
            tiny = torch.finfo(gates.alphas[0].dtype).tiny if len(gates.alphas) else 0.0
            if not math.isfinite(eps) or eps < tiny:
                bad.append(f'ε={eps:g}')
                cause = (f'ε fell to {eps:g}, below the smallest normal number of the gates\' '
                         f'dtype ({tiny:.3g}): a zero α then gives 0/0. Raise min_eps of the '
                         'GDPHook, or decay ε more slowly (eps_factor, eps_period)')
            nan_groups = [g.name for g, a in zip(gates.groups, gates.alphas)
                          if not bool(torch.isfinite(a.detach()).all())]
            if nan_groups:
                bad.append(f'gate α of {len(nan_groups)} groups ({", ".join(nan_groups[:3])}'
                           f'{", ..." if len(nan_groups) > 3 else ""})')
        if not bad:
            broken = nonfinite_tensors(model)
            if broken:
                bad.append(f'{len(broken)} tensors of the model ({", ".join(broken[:3])}'
                           f'{", ..." if len(broken) > 3 else ""})')
        loss = outputs.get('loss')
        if not bad and loss is not None and self.loss_factor is not None:
            value = _value(loss)
            if len(self._first) < self.window:
                self._first.append(abs(value))
            else:
                ref = max(1.0, sorted(self._first)[len(self._first) // 2])
                if abs(value) > self.loss_factor * ref:
                    bad.append(f'loss {value:.3g} ({abs(value) / ref:.3g}x the reference '
                               f'{ref:.3g} of the first iterations; '
                               f'loss_factor={self.loss_factor:g})')
        if not bad:
            return
        if cause is None:
            lrs = sorted({f'{g["lr"]:.3g}' for g in runner.optim_wrapper.optimizer.param_groups})
            cause = (f'a learning rate too high (now {", ".join(lrs)}), a too large λ or gate '
                     'lr, or broken input data')
        good = last_good_checkpoint(runner.work_dir, runner.message_hub.get_info('last_ckpt'))
        raise TrainingDivergedError(
            f'training diverged at iteration {runner.iter + 1}: {", ".join(bad)} not finite '
            f'or exploding. Likely cause: {cause}. Nothing was saved after this iteration'
            + (f'; the last checkpoint that loads with finite weights is {good}'
               if good else '; no checkpoint of this run has finite weights') + '.')
