"""Training-time baselines through the Runner: Network Slimming, Soft Filter Pruning, and the
pruned architecture trained from scratch; each exported exactly by tools/prune.py."""
import json
import math

import pytest
import torch

from gdpseg.core import plan_flops
from gdpseg.methods import OneShotPruning, zero_dropped
from gdpseg.models import CifarResNet
from gdpseg.utils import register_all_modules

from .test_other_task import BASELINE
from .test_runner import ROOT, _tool

SLIMMING = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='NetworkSlimming', architecture=_base_.model,
             input_shape=(1, 3, 32, 32), ratio=0.5, sparsity={s})
"""

SFP = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='SoftFilterPruning', architecture=_base_.model,
             input_shape=(1, 3, 32, 32), ratio=0.5)
custom_hooks = [dict(type='SoftPruningHook', interval=2)]
"""

SCRATCH = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='PrunedModel', plan='{plan}', reinit=True)
"""


def _write(tmp_path, name, text, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    (tmp_path / 'baseline.py').write_text(BASELINE)
    (tmp_path / f'{name}.py').write_text(text)
    return str(tmp_path / f'{name}.py')


def _gammas(ckpt):
    state = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    return sum(float(v.abs().sum()) for k, v in state.items()
               if k.endswith('bn1.weight') or k.endswith('bn2.weight'))


def test_network_slimming_penalises_bn_scales_and_exports_at_the_ratio(tmp_path, monkeypatch):
    train, prune = _tool('train'), _tool('prune')
    runs = {}
    for s in (0.0, 0.5):
        cfg = _write(tmp_path, f'slim{s}', SLIMMING.format(s=s), monkeypatch)
        train.main([cfg, '--work-dir', str(tmp_path / f'run{s}'), '--quiet',
                    '--cfg-options', 'randomness.seed=0'])
        runs[s] = tmp_path / f'run{s}' / 'iter_4.pth'
    # the same seed and data: only the penalty differs, and it shrank the scales
    assert _gammas(runs[0.5]) < _gammas(runs[0.0]) - 0.1
    info = prune.main([str(tmp_path / 'slim0.5.py'), str(runs[0.5]), '--out',
                       str(tmp_path / 'export'), '--no-onnx'])
    assert 0.4 <= info['flops']['ratio'] <= 0.5
    assert math.isclose(info['max_relative_difference_to_gated'], 0, abs_tol=1e-5)


def test_network_slimming_logs_its_loss_and_refuses_models_without_norms(tmp_path, monkeypatch):
    register_all_modules()
    from gdpseg.methods import NetworkSlimming
    torch.manual_seed(0)
    model = NetworkSlimming(CifarResNet(20), ratio=0.5, sparsity=1e-2,
                            input_shape=(1, 3, 32, 32), forward_mode=None)
    groups = model.channel_groups
    bns = {n: m for n, m in model.architecture.named_modules()
           if isinstance(m, torch.nn.BatchNorm2d)}
    on_prunable = {n for n in bns if groups.group_of(groups.graph.modules[n].in_segs[0]).prunable}
    assert 0 < len(on_prunable) < len(bns)  # shortcut 'A' pads: its trunk BNs are fixed
    assert {id(w) for w in model._scales} == {id(bns[n].weight) for n in on_prunable}
    plain = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 4, 3))
    with pytest.raises(ValueError, match='BatchNorm'):
        NetworkSlimming(plain, ratio=0.5, input_shape=(1, 3, 16, 16), forward_mode=None)
    with pytest.raises(ValueError, match='sparsity'):
        NetworkSlimming(CifarResNet(20), ratio=0.5, sparsity=-1, input_shape=(1, 3, 32, 32),
                        forward_mode=None)


def test_soft_filter_pruning_zeroes_what_the_export_drops(tmp_path, monkeypatch):
    cfg = _write(tmp_path, 'sfp', SFP, monkeypatch)
    _tool('train').main([cfg, '--work-dir', str(tmp_path / 'run'), '--quiet'])
    ckpt = tmp_path / 'run' / 'iter_4.pth'
    info = _tool('prune').main([cfg, str(ckpt), '--out', str(tmp_path / 'export'), '--no-onnx'])
    assert 0.4 <= info['flops']['ratio'] <= 0.5
    assert math.isclose(info['max_relative_difference_to_gated'], 0, abs_tol=1e-5)
    # the last checkpoint holds zero filters exactly where the export drops channels
    state = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    plan = json.loads((tmp_path / 'export' / 'plan.json').read_text())
    checked = 0
    for group in plan['groups']:
        name = group['name'].split(' ')[0]
        key = f'architecture.{name}.weight'
        if not group['prunable'] or key not in state:
            continue
        zero_rows = [i for i in range(group['size']) if not bool(state[key][i].any())]
        assert zero_rows == sorted(set(range(group['size'])) - set(group['keep']))
        checked += bool(zero_rows)
    assert checked >= 5


def test_zero_dropped_zeroes_exactly_the_dropped_filters():
    torch.manual_seed(0)
    model = OneShotPruning(CifarResNet(20).eval(), ratio=0.5, input_shape=(1, 3, 32, 32),
                           forward_mode=None)
    groups, plan = model.channel_groups, model.plan()
    zeroed = zero_dropped(groups, plan)
    conv = dict(model.architecture.named_modules())['layer1.0.conv1']
    i = next(i for i, g in enumerate(groups.groups) if 'layer1.0.conv1' in g.producers)
    kept = set(plan.keep[i].tolist())
    for c in range(conv.out_channels):
        assert bool(conv.weight[c].any()) == (c in kept)
    dropped = sum((g.size - len(k)) for g, k in zip(groups.groups, plan.keep) if g.prunable)
    assert zeroed >= dropped > 0
    # the plan of the zeroed model is the same (its zero filters score lowest)
    again = model.plan()
    assert all(torch.equal(a, b) for a, b in zip(again.keep, plan.keep))
    assert plan_flops(groups, again) == plan_flops(groups, plan)


def test_pruned_architecture_from_scratch_trains_with_fresh_weights(tmp_path, monkeypatch):
    from gdpseg.engine.export_dir import load_export
    from gdpseg.models import PrunedModel

    l1 = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='OneShotPruning', architecture=_base_.model,
             input_shape=(1, 3, 32, 32), ratio=0.5, score='l1', scope='uniform')
"""
    cfg = _write(tmp_path, 'l1', l1, monkeypatch)
    _tool('train').main([str(tmp_path / 'baseline.py'), '--work-dir', str(tmp_path / 'base'),
                         '--quiet'])
    _tool('prune').main([cfg, str(tmp_path / 'base' / 'iter_4.pth'), '--out',
                         str(tmp_path / 'export'), '--no-onnx'])
    export = load_export(str(tmp_path / 'export'))
    torch.manual_seed(1)
    fresh = PrunedModel(str(tmp_path / 'export'), reinit=True)
    a, b = export.state_dict(), fresh.state_dict()
    assert a.keys() == b.keys() and all(a[k].shape == b[k].shape for k in a)
    convs = [k for k in a if k.endswith('conv1.weight')]
    assert convs and all(not torch.equal(a[k], b[k]) for k in convs)
    scratch = _write(tmp_path, 'scratch', SCRATCH.format(plan=tmp_path / 'export'), monkeypatch)
    _tool('train').main([scratch, '--work-dir', str(tmp_path / 'scratch_run'), '--quiet'])
    assert (tmp_path / 'scratch_run' / 'iter_4.pth').is_file()


SCS = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='ContinuousSparsification', architecture=_base_.model,
             input_shape=(1, 3, 32, 32), ratio=0.5, lam=5.0, init=0.5, beta=(1.0, 50.0))
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=1.0))
custom_hooks = [dict(type='AnnealHook')]
"""


def test_continuous_sparsification_anneals_penalises_and_exports_exactly(tmp_path, monkeypatch):
    cfg = _write(tmp_path, 'scs', SCS, monkeypatch)
    _tool('train').main([cfg, '--work-dir', str(tmp_path / 'run'), '--quiet'])
    ckpt = tmp_path / 'run' / 'iter_4.pth'
    state = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    assert float(state['gates.beta']) == pytest.approx(50.0)  # annealed to β_final
    moved = [k for k in state if k.startswith('gates.alphas.') and
             not torch.all(state[k] == 0.5)]
    assert moved  # the masks' s were trained
    info = _tool('prune').main([cfg, str(ckpt), '--out', str(tmp_path / 'export'),
                                '--no-onnx'])
    assert 0.4 <= info['flops']['ratio'] <= 0.5
    # the export computes the architecture with the kept channels' masks folded
    assert info['max_relative_difference_to_gated'] < 1e-5


def test_relaxed_flops_of_hard_masks_equal_the_exports():
    from gdpseg.core import plan_flops
    from gdpseg.methods import ContinuousSparsification

    torch.manual_seed(0)
    model = ContinuousSparsification(CifarResNet(20).eval(), ratio=0.5, init=1.0,
                                     beta=(1e4, 1e4), input_shape=(1, 3, 32, 32),
                                     forward_mode=None)
    gates = model.gates
    assert float(gates.relaxed_ratio()) == pytest.approx(1.0)
    with torch.no_grad():
        for a, g in zip(gates.alphas, gates.groups):
            if g.prunable:
                a[::3] = -1.0  # a third of every group's masks off
    plan = gates.plan()
    exact = plan_flops(model.channel_groups, plan) / model.channel_groups.full_flops()
    assert exact < 0.8
    assert float(gates.relaxed_ratio()) == pytest.approx(exact, rel=1e-6)
    gates.beta.fill_(1.0)
    gates.relaxed_ratio().backward()  # differentiable in s: every prunable s is pushed down
    grads = [a.grad for a, g in zip(gates.alphas, gates.groups) if g.prunable]
    assert grads and all(bool((gr > 0).all()) for gr in grads)
    with pytest.raises(ValueError, match='beta'):
        ContinuousSparsification(CifarResNet(20), ratio=0.5, beta=(2.0, 1.0),
                                 input_shape=(1, 3, 32, 32), forward_mode=None)


def test_budget_aware_penalty_pushes_masks_down_above_the_budget_and_up_below_it():
    from gdpseg.methods import ContinuousSparsification

    model = ContinuousSparsification(CifarResNet(20).eval(), ratio=0.5, lam=1.0, init=1.0,
                                     beta=(4.0, 4.0), input_shape=(1, 3, 32, 32),
                                     forward_mode=None)
    prunable = [a for a, g in zip(model.gates.alphas, model.gates.groups) if g.prunable]

    def grads(s, budget_aware=True):
        model.budget_aware = budget_aware
        with torch.no_grad():
            for a in prunable:
                a.fill_(s)
                a.grad = None
        model.budget_loss().backward()
        return torch.cat([a.grad for a in prunable])

    assert float(model.gates.relaxed_ratio()) > 0.5
    assert bool((grads(1.0) > 0).all())  # above the budget: descent lowers every s
    with torch.no_grad():
        for a in prunable:
            a.fill_(-0.5)
    assert float(model.gates.relaxed_ratio()) < 0.5
    assert bool((grads(-0.5) < 0).all())  # below it: descent raises them
    assert bool((grads(-0.5, budget_aware=False) > 0).all())  # a constant λ: always down


SL0 = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='NaiveSL0', architecture=_base_.model,
             input_shape=(1, 3, 32, 32), ratio=0.5, lam=5.0, eps_final=0.1)
custom_hooks = [dict(type='AnnealHook')]
"""


def test_naive_sl0_penalises_filter_norms_and_its_checkpoint_keeps_eps(tmp_path, monkeypatch):
    from gdpseg.engine.checkpoint import load_weights
    from gdpseg.registry import MODELS

    cfg = _write(tmp_path, 'sl0', SL0, monkeypatch)
    _tool('train').main([cfg, '--work-dir', str(tmp_path / 'run'), '--quiet',
                         '--cfg-options', 'load_from=None'])
    ckpt = tmp_path / 'run' / 'iter_4.pth'
    state = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    assert bool(state['eps_ready']) and float(state['eps_scale']) == pytest.approx(0.1)
    assert bool((state['eps0'] > 0).all())
    info = _tool('prune').main([cfg, str(ckpt), '--out', str(tmp_path / 'export'),
                                '--no-onnx'])
    assert 0.4 <= info['flops']['ratio'] <= 0.5
    assert info['max_relative_difference_to_gated'] < 1e-5
    # a checkpoint of the method keeps its ε₀; a baseline checkpoint leaves it to training
    register_all_modules()
    from mmengine.config import Config
    model = MODELS.build(Config.fromfile(cfg).model)
    load_weights(model, str(ckpt))
    assert torch.equal(model.eps0, state['eps0'])
    fresh = MODELS.build(Config.fromfile(cfg).model)
    base = {k[len('architecture.'):]: v for k, v in state.items()
            if k.startswith('architecture.')}
    fresh.load_state_dict(base)
    assert not bool(fresh.eps_ready)
    values = fresh.gate_values()  # ε₀ from these weights: every prunable g starts at 1/1.1
    prunable = [v for v, g in zip(values, fresh.channel_groups.groups) if g.prunable]
    assert all(torch.allclose(v, torch.full_like(v, 1 / 1.1)) for v in prunable)


KERNEL_GDP = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='KernelGDP', architecture=_base_.model,
             input_shape=(1, 3, 32, 32), forward_mode='tensor')
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=1.0))
custom_hooks = [dict(type='GDPHook', lam=3000.0, eps_factor=0.9, eps_period=1)]
"""


def test_kernel_gates_threshold_filter_norms_and_export_exactly(tmp_path, monkeypatch):
    from gdpseg.methods.gdp import KernelGDP
    from gdpseg.methods.importance import filter_sq_norms

    torch.manual_seed(0)
    model = KernelGDP(CifarResNet(20), input_shape=(1, 3, 32, 32), forward_mode=None)
    gates, groups = model.gates, model.channel_groups
    model.train()
    x = torch.randn(2, 3, 32, 32)
    model.architecture(x).sum().backward()  # the gates' gradient reaches the filters
    assert all(a.grad is None for a in gates.alphas)  # α is not in the forward: x is ‖w‖
    first = next(p for m, _, _ in gates._producers for p in [m.weight])
    assert first.grad is not None and bool(first.grad.abs().sum() > 0)
    prunable = [i for i, g in enumerate(groups.groups) if g.prunable]
    assert all(torch.allclose(gates.gate(i), torch.full((groups.groups[i].size,), 1 / 1.1))
               for i in prunable)  # x starts at 1
    with torch.no_grad():  # filters of unequal norms (training would make them so)
        for module, _, transposed in gates._producers:
            w = module.weight.transpose(0, 1) if transposed else module.weight
            w.mul_(torch.rand(w.shape[0]).view(-1, *[1] * (w.dim() - 1)) + 0.05)
    before = [x.detach().clone() for x in gates.relative_norms()]
    lam = gates.prox_step(lr=0.05, lam=1e4, min_ratio=0.7)  # a floor: λ found by bisection
    assert 0 < lam < 1e4 and 0.7 <= gates.resource_ratio() < 0.8
    after = gates.relative_norms()
    assert all(torch.allclose(after[i], gates.alphas[i]) for i in prunable)  # α mirrors x
    assert all(bool((after[i] < before[i]).all()) for i in prunable)  # every norm shrank
    zero = [after[i] == 0 for i in prunable]
    assert any(bool(z.any()) for z in zero) and not all(bool(z.all()) for z in zero)
    # the zeroed channels' filters are exactly zero, the others not, and they stay dead
    sq = filter_sq_norms(groups, gates._producers)
    assert all(torch.equal(sq[i] == 0, z) for i, z in zip(prunable, zero))
    assert int(gates.dead.sum()) == sum(int(z.sum()) for z in zero)

    # through the Runner: trained, checkpointed, exported with the gated network's outputs
    cfg = _write(tmp_path, 'kernel', KERNEL_GDP, monkeypatch)
    _tool('train').main([cfg, '--work-dir', str(tmp_path / 'run'), '--quiet'])
    ckpt = tmp_path / 'run' / 'iter_4.pth'
    state = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    assert bool(state['gates.norm_ready']) and bool(state['gates.dead'].any())
    info = _tool('prune').main([cfg, str(ckpt), '--out', str(tmp_path / 'export'),
                                '--no-onnx'])
    assert info['flops']['ratio'] < 1
    assert info['max_relative_difference_to_gated'] < 1e-5


BWCP_CFG = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='BWCP', architecture=_base_.model,
             input_shape=(1, 3, 32, 32), ratio=0.5, lam_gamma={s}, lam_beta={s})
"""


def _betas(ckpt):
    state = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    return sum(float(v.sum()) for k, v in state.items()
               if k.endswith('bn1.bias') or k.endswith('bn2.bias'))


def test_bwcp_regularises_gamma_and_beta_and_exports_exactly(tmp_path, monkeypatch):
    train, prune = _tool('train'), _tool('prune')
    runs = {}
    for s in (0.0, 0.5):
        cfg = _write(tmp_path, f'bwcp{s}', BWCP_CFG.format(s=s), monkeypatch)
        train.main([cfg, '--work-dir', str(tmp_path / f'run{s}'), '--quiet',
                    '--cfg-options', 'randomness.seed=0'])
        runs[s] = tmp_path / f'run{s}' / 'iter_4.pth'
    # the same seed, data and mask noise: the sparse regularisation lowered γ and β
    assert _gammas(runs[0.5]) < _gammas(runs[0.0]) - 0.1
    assert _betas(runs[0.5]) < _betas(runs[0.0]) - 0.1
    info = prune.main([str(tmp_path / 'bwcp0.5.py'), str(runs[0.5]), '--out',
                       str(tmp_path / 'export'), '--no-onnx'])
    assert 0.4 <= info['flops']['ratio'] <= 0.5
    # the export computes the architecture with the kept channels' probabilities folded
    assert info['max_relative_difference_to_gated'] < 1e-5


def test_bwcp_masks_are_relaxed_bernoulli_samples_of_the_activation_probability():
    from gdpseg.methods import BWCP
    from gdpseg.methods.bwcp import activation_probability

    torch.manual_seed(0)
    net = CifarResNet(20)
    model = BWCP(net, ratio=0.5, input_shape=(1, 3, 32, 32), forward_mode=None)
    gates = model.gates
    i = next(k for k, g in enumerate(gates.groups) if g.prunable and g.size >= 8)
    bn = net.layer1[0].bn1  # the only norm on layer1.0.conv1's group
    assert gates.channel_groups.groups[i].size == bn.num_features
    with torch.no_grad():
        bn.weight.fill_(1.0)
        bn.bias.copy_(torch.linspace(-2, 2, bn.num_features))
    p = activation_probability(bn.weight, bn.bias).detach()
    assert torch.allclose(gates.probabilities()[i].detach(), p)
    # a mask is above 1/2 exactly when a Bernoulli(P) draw would be 1
    gates.train()
    draws = []
    for _ in range(2000):
        gates.resample()
        draws.append(gates.gate(i).detach() > 0.5)
    freq = torch.stack(draws).float().mean(0)
    assert torch.allclose(freq, p, atol=0.04)
    # one sample per forward pass, shared by every reader; eval mode gives P itself
    assert torch.equal(gates.gate(i), gates.gate(i))
    gates.eval()
    assert torch.allclose(gates.gate(i).detach(), p)
    with pytest.raises(ValueError, match='temperature'):
        BWCP(CifarResNet(20), ratio=0.5, temperature=0.0, input_shape=(1, 3, 32, 32),
             forward_mode=None)


def test_bwcp_meets_the_ratio_when_the_probabilities_saturate():
    from gdpseg.core import plan_flops
    from gdpseg.methods import BWCP

    torch.manual_seed(0)
    net = CifarResNet(20)
    model = BWCP(net, ratio=0.6, input_shape=(1, 3, 32, 32), forward_mode=None)
    with torch.no_grad():  # P is exactly 0 or 1 in float32 for every channel
        for bn, _ in model.gates._norms:
            b = torch.randn(bn.bias.shape)
            bn.weight.fill_(1e-3)
            bn.bias.copy_(b.sign() * (b.abs() + 0.01))
    probs = torch.cat([p for p, g in zip(model.gates.probabilities(), model.gates.groups)
                       if g.prunable])
    assert bool(((probs == 0) | (probs == 1)).all())
    groups = model.channel_groups
    for ratio in (0.6, 0.35):
        model.ratio = ratio
        got = plan_flops(groups, model.plan()) / groups.full_flops()
        assert ratio - 0.05 <= got <= ratio


def test_bwcp_names_groups_without_a_norm_layer():
    import torch.nn as nn

    from gdpseg.methods import BWCP

    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3))
    with pytest.raises(ValueError, match='affine norm layer.*exclude'):
        BWCP(net, ratio=0.5, input_shape=(1, 3, 16, 16), forward_mode=None)
