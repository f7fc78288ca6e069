"""Test-only hooks (imported via custom_imports): gate dumps per rank, an injected NaN."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from gdpseg.engine.utils import get_gates
from gdpseg.registry import HOOKS


@HOOKS.register_module()
class GateDumpHook(Hook):
    def after_train(self, runner):
        gates = get_gates(runner.model)
        torch.save({'alphas': [a.detach().clone() for a in gates.alphas],
                    'eps': float(gates.eps)},
                   osp.join(runner.work_dir, f'gates_rank{get_rank()}.pt'))


@HOOKS.register_module()
class NaNGateHook(Hook):
    """Makes the gates NaN at one iteration, as a diverging step would."""

    priority = 51  # after GDPHook, before FiniteCheckHook

    def __init__(self, at: int):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            with torch.no_grad():
                get_gates(runner.model).alphas[1].fill_(float('nan'))
