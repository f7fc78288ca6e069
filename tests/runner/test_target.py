"""Budgets: TargetLambda lands training on a requested resource ratio through the Runner."""
import json
import math
from pathlib import Path

import pytest
import torch

from gdpseg.methods.gdp import TargetLambda, attach_gates
from gdpseg.methods.gdp import clear_zeroed_state
from gdpseg.models import CifarResNet

from .test_other_task import BASELINE
from .test_runner import _tool

ROOT = Path(__file__).resolve().parents[2]

TARGET = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='GDPAlgorithm', architecture=_base_.model,
             input_shape=(1, 3, 32, 32), forward_mode='tensor')
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=1.0))
train_cfg = dict(max_iters=60, val_interval=60)
default_hooks = dict(checkpoint=dict(interval=60), logger=dict(interval=10))
custom_hooks = [dict(type='GDPHook', lam=dict(type='TargetLambda', ratio={ratio}),
                     eps_factor=0.9, eps_period=5),
                dict(type='GDPVisualHook', interval=5)]
"""


@pytest.mark.slow
@pytest.mark.parametrize('ratio', [0.7, 0.5, 0.3])
def test_target_mode_lands_on_the_requested_flops_ratio(tmp_path, monkeypatch, ratio):
    monkeypatch.syspath_prepend(str(ROOT))
    (tmp_path / 'baseline.py').write_text(BASELINE)
    (tmp_path / 'target.py').write_text(TARGET.format(ratio=ratio))
    train, prune = _tool('train'), _tool('prune')
    train.main([str(tmp_path / 'target.py'), '--work-dir', str(tmp_path / 'run'), '--quiet'])
    info = prune.main([str(tmp_path / 'target.py'), str(tmp_path / 'run' / 'iter_60.pth'),
                       '--out', str(tmp_path / 'export'), '--no-onnx'])
    # the exported network's exact FLOPs land in [target, target + tolerance]
    assert ratio <= info['flops']['ratio'] <= ratio + 0.01
    history = json.loads((tmp_path / 'run' / 'gdp_history.json').read_text())
    reached = history['flops_ratio']
    assert reached[0] == 1.0 and reached[-1] == pytest.approx(info['flops']['ratio'])
    # pruning followed the schedule from above: never below the scheduled ratio
    assert all(r >= t - 1e-9 for r, t in zip(reached, history['target']) if t is not None)
    assert history['target'][-1] == pytest.approx(ratio)
    assert (tmp_path / 'run' / 'gdp_flops_ratio.png').stat().st_size > 0
    # polarization over training: nothing zero at the start, the zeros are what was pruned
    zero, high = history['zero_share'], history['high_share']
    assert len(zero) == len(high) == len(history['dead_groups']) == len(reached)
    assert zero[0] == 0 and high[0] == 1 and 0 < zero[-1] < 1
    assert all(z + h <= 1 + 1e-9 for z, h in zip(zero, high))
    assert (tmp_path / 'run' / 'gdp_polarization.png').stat().st_size > 0


def _land_under_cosine(adapt_threshold, iters=300, ratio=0.1):
    """A plain loop: SGD on the gates with a cosine learning rate to 0, a loss that pulls
    every gate toward 1, the proximal step with TargetLambda after each step."""
    from gdpseg.engine.train_state import TrainState
    torch.manual_seed(0)
    model = CifarResNet(20, num_classes=10).eval()
    gates = attach_gates(model, (torch.randn(1, 3, 32, 32),))
    pull = [torch.rand_like(a) * 0.1 for a in gates.alphas]
    opt = torch.optim.SGD(gates.parameters(), lr=0.2, momentum=0.9)
    lam = TargetLambda(ratio=ratio, adapt_threshold=adapt_threshold)
    lrs = []
    for it in range(1, iters + 1):
        lr = 0.1 * (1 + math.cos(math.pi * (it - 1) / iters))
        opt.param_groups[0]['lr'] = lr
        opt.zero_grad()
        loss = -sum((w * a ** 2 / (a ** 2 + gates.eps)).sum() for w, a in zip(pull, gates.alphas))
        loss.backward()
        opt.step()
        state = TrainState(iter=it, max_iters=iters, optimizer=opt,
                           lr_of=lambda params: opt.param_groups[0]['lr'])
        value = lam(state, gates)
        lrs.append((lr, value))
        gates.prox_step(lr, value, min_ratio=lam.min_ratio)
        clear_zeroed_state(opt, gates)
        gates.set_eps(0.9 ** (it // 15) * 1e-2)
    return gates.resource_ratio(), lam, lrs


def test_target_adapts_the_threshold_so_a_decaying_lr_does_not_stall_low_targets():
    # the cause: the threshold lr·λ shrinks with a cosine lr; λ alone lags behind 10 %
    lagging, _, _ = _land_under_cosine(adapt_threshold=False)
    assert lagging > 0.1 + 0.01
    landed, lam, lrs = _land_under_cosine(adapt_threshold=True)
    assert 0.1 <= landed <= 0.1 + 0.5 * lam.tolerance
    # while it shrinks gates, λ·lr/lr₀ is the controller's own value, within its bounds
    lr0 = lrs[0][0]
    for lr, value in lrs[:100]:
        if value > 0:
            scale = value * lr / lr0
            assert lam.lam0 / lam.max_factor <= scale <= lam.lam0 * lam.max_factor
    saved = lam.state_dict()
    assert saved['lr0'] == pytest.approx(lr0)
    resumed = TargetLambda(ratio=0.1)
    resumed.load_state_dict(saved)
    assert resumed.lr0 == lam.lr0 and resumed.log_lam == lam.log_lam


def test_target_can_be_given_in_the_resources_units_and_is_validated():
    with pytest.raises(ValueError, match='not both'):
        TargetLambda(ratio=0.5, value=1e6)
    with pytest.raises(ValueError, match=r'\(0, 1\)'):
        TargetLambda(ratio=1.5)
    lam = TargetLambda(value=1e6)
    assert lam.ratio is None and lam.min_ratio is None


def test_floored_prox_step_never_goes_below_the_floor_and_takes_the_largest_lambda():
    torch.manual_seed(0)
    model = CifarResNet(20, num_classes=10).eval()
    gates = attach_gates(model, (torch.randn(1, 3, 32, 32),))
    with torch.no_grad():
        for a in gates.alphas:
            a.uniform_(0.1, 1.0)
    state = [a.detach().clone() for a in gates.alphas]
    used = gates.prox_step(lr=1.0, lam=1e4, min_ratio=0.6)
    floored = gates.flops_ratio()
    assert floored >= 0.6 and used < 1e4
    # the λ found is the largest that keeps the floor: a little more crosses it
    with torch.no_grad():
        for a, s in zip(gates.alphas, state):
            a.copy_(s)
    gates.prox_step(lr=1.0, lam=used * 1.01)
    assert gates.flops_ratio() < 0.6 <= floored < 0.62
    # unfloored, the same step goes far below
    with torch.no_grad():
        for a, s in zip(gates.alphas, state):
            a.copy_(s)
    assert gates.prox_step(lr=1.0, lam=1e4) == 1e4 and gates.flops_ratio() < 0.5


def test_zeroed_gates_lose_their_momentum_so_zero_stays_zero():
    model = CifarResNet(20, num_classes=10)
    gates = attach_gates(model, (torch.randn(1, 3, 32, 32),))
    alpha = next(a for a, g in zip(gates.alphas, gates.groups) if g.prunable)
    opt = torch.optim.SGD(gates.parameters(), lr=0.1, momentum=0.9)
    alpha.grad = torch.ones_like(alpha)
    opt.step()
    with torch.no_grad():
        alpha[:3] = 0
    clear_zeroed_state(opt, gates)
    alpha.grad = torch.zeros_like(alpha)  # dg/dα = 0 at α = 0
    opt.step()
    assert torch.all(alpha[:3] == 0) and torch.all(alpha[3:] != 0)


def test_init_spread_starts_alphas_apart_within_the_spread_and_is_validated():
    from gdpseg.methods.gdp import GDPAlgorithm
    arch = CifarResNet(20, num_classes=10)
    torch.manual_seed(3)
    model = GDPAlgorithm(arch, input_shape=(1, 3, 32, 32), forward_mode=None, init=1.0,
                         init_spread=0.3)
    values = torch.cat([a.detach() for a, g in zip(model.gates.alphas, model.gates.groups)
                        if g.prunable])
    assert values.min() >= 0.7 and values.max() <= 1.0
    assert values.unique().numel() == values.numel()  # no two channels start together
    fixed = [a for a, g in zip(model.gates.alphas, model.gates.groups) if not g.prunable]
    assert all(bool((a == 1).all()) for a in fixed)
    with pytest.raises(ValueError, match='init_spread'):
        GDPAlgorithm(arch, input_shape=(1, 3, 32, 32), forward_mode=None, init_spread=1.0)


def test_cost_exponent_reaches_the_gates_and_is_checked():
    from gdpseg.methods.gdp import GDPAlgorithm
    arch = CifarResNet(20, num_classes=10)
    with pytest.raises(ValueError, match='cost_exponent'):
        GDPAlgorithm(arch, input_shape=(1, 3, 32, 32), forward_mode=None, cost_exponent=1.5)
    model = GDPAlgorithm(arch, input_shape=(1, 3, 32, 32), forward_mode=None,
                         cost_exponent=0.0)
    assert model.gates.cost_exponent == 0.0
    before = [a.detach().clone() for a in model.gates.alphas]
    model.gates.prox_step(lr=1.0, lam=0.05)
    # every prunable α started at 1 and got the same threshold, whatever its FLOPs
    drops = {round(float(b[0] - a.detach()[0]), 9)
             for a, b, g in zip(model.gates.alphas, before, model.gates.groups) if g.prunable}
    assert len(drops) == 1 and drops.pop() > 0
