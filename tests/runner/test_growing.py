"""Growing mode of structured continuous sparsification: a seed network, hard switches that
can open channels, the training cost counted on the switched-on network, an exact export."""
import math
import warnings
from types import SimpleNamespace

import pytest
import torch

from gdpseg.core import PruningPlan, plan_flops
from gdpseg.engine.export_dir import export_model
from gdpseg.engine.train_state import TrainState
from gdpseg.methods import GrowingSparsification
from gdpseg.models import CifarResNet

from .test_runner import _tool


def _model(**kw):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the padded shortcut fixes the residual trunk
        return GrowingSparsification(CifarResNet(20), input_shape=(1, 3, 32, 32),
                                     forward_mode=None, **{'ratio': 0.5, **kw})


def _switched_on_ratio(model):
    """FLOPs of the export of the switched-on channels over the full network's, counted by the
    plan (independently of the method's bilinear account)."""
    gates = model.gates
    keep = [torch.nonzero(a > 0).flatten() if g.prunable else torch.arange(g.size)
            for a, g in zip(gates.alphas, gates.groups)]
    groups = model.channel_groups
    return plan_flops(groups, PruningPlan(keep)) / groups.full_flops()


def test_the_seed_switches_on_a_share_of_every_group():
    model = _model(seed=0.25)
    gates = model.gates
    for a, g in zip(gates.alphas, gates.groups):
        if g.prunable:
            assert int((a > 0).sum()) == math.ceil(0.25 * g.size)
            # the forward masks are exactly 1 and 0
            assert set(gates.gate(gates.groups.index(g)).tolist()) <= {0.0, 1.0}
    assert gates.live_ratio() == pytest.approx(_switched_on_ratio(model), rel=1e-12)
    assert gates.live_ratio() < 0.35
    with pytest.raises(ValueError, match='seed must be'):
        _model(seed=0.0)


def test_training_cost_is_the_mean_flops_of_the_switched_on_network():
    model = _model(seed=0.25)
    state = TrainState(iter=1, max_iters=10)
    r1 = _switched_on_ratio(model)
    for _ in range(3):
        model.after_step(state)
    with torch.no_grad():  # switch on half of every prunable group
        for a, g in zip(model.gates.alphas, model.gates.groups):
            if g.prunable:
                a[:g.size // 2] = 0.05
    r2 = _switched_on_ratio(model)
    assert r2 > r1
    for _ in range(2):
        model.after_step(state)
    assert model.training_cost() == pytest.approx((3 * r1 + 2 * r2) / 5, rel=1e-9)
    # the comparison's account of a stage takes the method's own
    from tools import compare
    assert compare._stage_cost(SimpleNamespace(model=model), {}) == model.training_cost()
    assert compare._stage_cost(SimpleNamespace(model=torch.nn.Linear(1, 1)),
                               {'flops_ratio': 0.3}) == 0.3


def test_switched_off_channels_get_gradients_and_the_budget_grows_the_network():
    model = _model(seed=0.25, lam=5.0, init=0.02, beta=(20.0, 20.0))
    opt = torch.optim.SGD(model.gates.parameters(), lr=0.5)
    start = model.gates.live_ratio()
    model.train()
    loss = model.budget_loss()  # below the budget: the penalty pulls the masks up
    loss.backward()
    i = next(k for k, g in enumerate(model.gates.groups) if g.prunable)
    off = model.gates.alphas[i] < 0
    assert bool((model.gates.alphas[i].grad[off] != 0).all())
    for _ in range(20):
        opt.zero_grad()
        model.budget_loss().backward()
        opt.step()
    assert start < model.gates.live_ratio()


def test_the_export_is_the_switched_on_network_within_the_budget():
    model = _model(seed=0.25, ratio=0.3)
    with torch.no_grad():  # more than the budget is switched on: the plan keeps the best
        for a, g in zip(model.gates.alphas, model.gates.groups):
            if g.prunable:
                a.copy_(torch.linspace(-0.5, 1.0, g.size))
    model.eval()
    pruned, plan, diff = export_model(model, torch.randn(2, 3, 32, 32))
    assert diff < 1e-5
    groups = model.channel_groups
    assert plan_flops(groups, plan) <= 0.3 * groups.full_flops()
    for k, a, g in zip(plan.keep, model.gates.alphas, model.gates.groups):
        if g.prunable and len(k):
            assert bool((a[k] > 0).all())  # no switched-off channel is kept


def test_blocks_start_off_switch_on_and_an_off_block_is_removed_exactly():
    model = _model(seed=0.25, grow_blocks=True, seed_blocks=0.5)
    gates, blocks = model.gates, model.blocks
    assert len(blocks) == 9  # ResNet-20's residual branches (the trunk is fixed here)
    assert model.blocks_on() == 4  # floor(9 · 0.5), spread evenly
    off = [i for i in blocks if not bool((gates.alphas[i] > 0).any())]
    assert len(off) == 5 and off != blocks[-5:] and off != blocks[:5]
    assert gates.live_ratio() < _model(seed=0.25).gates.live_ratio()
    # a block that is off costs nothing in training; its export keeps the last conv of the
    # block reading one zero channel (a constant on the residual path), which is counted
    assert gates.live_ratio() < _switched_on_ratio(model) < gates.live_ratio() + 0.02
    # the task loss reaches the switches of a block that is off
    model.train()
    x = torch.randn(4, 3, 32, 32)
    torch.nn.functional.cross_entropy(model.call_architecture(x), torch.arange(4)).backward()
    assert bool((gates.alphas[off[0]].grad != 0).any())
    # the export removes the blocks still off and equals the masked network
    model.eval()
    pruned, plan, diff = export_model(model, torch.randn(2, 3, 32, 32))
    assert diff < 1e-5
    assert all(i in plan.silent for i in off)  # removed: one placeholder read with weight 0
    assert not any(i in plan.silent for i in blocks if i not in off)
    convs = sum(isinstance(m, torch.nn.Conv2d) for m in pruned.modules())
    assert convs == sum(isinstance(m, torch.nn.Conv2d) for m in model.architecture.modules()) \
        - len(off)  # the first conv of every removed block is gone
    assert _model(grow_blocks=True, seed_blocks=0.0).blocks_on() == 0
    with pytest.raises(ValueError, match='seed_blocks'):
        _model(grow_blocks=True, seed_blocks=1.5)


def test_growing_blocks_needs_a_residual_branch():
    plain = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 8, 3), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(8, 2))
    with pytest.raises(ValueError, match='no block that can be off'):
        GrowingSparsification(plain, input_shape=(1, 3, 16, 16), forward_mode=None, ratio=0.5,
                              grow_blocks=True)


GROWING_CFG = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='GrowingSparsification', architecture=_base_.model,
             input_shape=(1, 3, 32, 32), ratio=0.5, seed=0.25, lam=2.0)
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=1.0))
custom_hooks = [dict(type='PruningHook')]
load_from = None
"""


def test_growing_through_train_and_prune_tools(tmp_path, monkeypatch):
    from .test_training_time import _write

    cfg = _write(tmp_path, 'growing', GROWING_CFG, monkeypatch)
    runner = _tool('train').main([cfg, '--work-dir', str(tmp_path / 'run'), '--quiet',
                                  '--cfg-options', 'randomness.seed=0'])
    model = runner.model
    assert int(model.cost_steps) == 4 and 0 < model.training_cost() < 0.5
    ckpt = tmp_path / 'run' / 'iter_4.pth'
    state = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    assert int(state['cost_steps']) == 4
    info = _tool('prune').main([cfg, str(ckpt), '--out', str(tmp_path / 'export'), '--no-onnx'])
    assert info['flops']['ratio'] <= 0.5
    assert info['max_relative_difference_to_gated'] < 1e-5
