"""A test-only hook: each rank saves its gates after training (imported via custom_imports)."""
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
