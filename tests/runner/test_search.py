"""The width search: a slimmable network whose every sampled subnet exports exactly, a greedy
search that lands under a FLOPs or a latency budget and refuses an impossible one, and the
train -> search tools on a tiny classifier."""
import json
import warnings

import pytest
import torch

from gdpseg.core import plan_flops
from gdpseg.core.resource import build_resource
from gdpseg.engine.export_dir import export_model
from gdpseg.evaluation import count_conv_linear_flops
from gdpseg.methods import SlimmableNetwork, filter_l1, greedy_search
from gdpseg.models import CifarResNet

from .test_runner import _tool


def _slimmable(depth=20, **kw):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the padded shortcut fixes the residual trunk
        return SlimmableNetwork(CifarResNet(depth), input_shape=(1, 3, 32, 32),
                                forward_mode=None, **kw)


def test_every_sampled_subnet_keeps_its_best_channels_and_exports_exactly():
    model = _slimmable(min_share=0.25, num_random=3)
    model.before_train(None)
    assert bool(model.ordered)
    gates, groups = model.gates, model.channel_groups
    l1 = filter_l1(groups)
    x = torch.randn(2, 3, 32, 32)
    model.eval()
    for widths in model.sandwich() + [model.random_widths() for _ in range(2)]:
        gates.set_widths(widths)
        plan = gates.width_plan()
        for k, s, g, w in zip(plan.keep, l1, gates.groups, widths):
            if g.prunable:  # the leading channels are the best by L1
                assert len(k) == w
                assert set(k.tolist()) == set(torch.argsort(s, descending=True)[:w].tolist())
        pruned, plan, diff = export_model(model, x)
        assert diff < 1e-5
        assert plan_flops(groups, plan) == count_conv_linear_flops(pruned, (x[:1],))
    assert model.sandwich()[1] == model.min_widths()
    with pytest.raises(ValueError, match=r'width 17 outside \[0, 16\]'):
        gates.set_widths([17] * len(gates.groups))


def _distance_score(model):
    """Minus the distance of the subnet's output from the full network's (a held-out score that
    needs no data set)."""
    x = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    model.eval()
    keep = model.gates.widths()
    model.gates.set_widths(model.full_widths())
    with torch.no_grad():
        ref = model.architecture(x)
    model.gates.set_widths(keep)

    def evaluate():
        with torch.no_grad():
            return -float((model.architecture(x) - ref).pow(2).mean())
    return evaluate


def _ordered_with_flops():
    """A slimmable ResNet-8 with its channels ordered, and the exact FLOPs of given widths."""
    model = _slimmable(depth=8, min_share=0.25)
    model.before_train(None)
    groups = model.channel_groups
    res = build_resource('flops', groups)

    def resource(widths):
        return res.plan_value(groups, model.gates.width_plan(widths))
    return model, resource


def test_greedy_search_lands_under_a_flops_budget_and_refuses_an_impossible_one():
    model, resource = _ordered_with_flops()
    groups = model.channel_groups

    full = groups.full_flops()
    found = greedy_search(model, _distance_score(model), 0.5 * full, resource, step=0.25)
    assert found['resource'] <= 0.5 * full
    assert found['widths'] == model.gates.widths()  # the model is left at the found widths
    # each step narrowed one group and lowered the resource
    costs = [h['resource'] for h in found['history']]
    assert costs == sorted(costs, reverse=True) and len(costs) >= 2
    # the first step narrowed the best-scored of its candidates (one group narrowed each)
    evaluate, full_widths = _distance_score(model), model.full_widths()
    scores = {}
    for i, g in enumerate(model.gates.groups):
        if g.prunable:
            trial = list(full_widths)
            trial[i] = max(model.min_widths()[i], trial[i] - max(1, g.size // 4))
            model.gates.set_widths(trial)
            scores[g.name] = evaluate()
    assert scores[found['history'][0]['group']] == max(scores.values())
    with pytest.raises(ValueError, match='below what the smallest widths'):
        greedy_search(model, _distance_score(model), 0.01 * full, resource)


def test_the_search_spends_what_its_last_narrowing_left_of_the_budget():
    model, resource = _ordered_with_flops()
    groups = model.channel_groups

    budget = 0.45 * groups.full_flops()  # its last step lands at 34.9 % (step 0.5)
    plain = greedy_search(model, _distance_score(model), budget, resource, step=0.5, fill=False)
    model.gates.set_widths(model.full_widths())
    found = greedy_search(model, _distance_score(model), budget, resource, step=0.5)
    assert found['history'] == plain['history'] and plain['filled'] == []
    assert plain['resource'] < found['resource'] <= budget and found['filled']
    assert found['filled'][-1]['resource'] == found['resource'] == resource(found['widths'])
    assert found['widths'] == model.gates.widths()
    # it stopped because no widening of a group by half a step still fits
    full = model.full_widths()
    for i, g in enumerate(model.gates.groups):
        w = found['widths'][i]
        if g.prunable and 0 < w < full[i]:
            trial = list(found['widths'])
            trial[i] = min(full[i], w + max(1, int(0.25 * full[i])))
            assert resource(trial) > budget


def test_greedy_search_under_a_latency_budget_in_milliseconds():
    from gdpseg.deploy.latency import measure_latency_table

    from ..deploy.test_latency import FlopsTimer

    model = _slimmable(depth=8, min_share=0.25)
    model.before_train(None)
    groups = model.channel_groups
    x = torch.randn(1, 3, 32, 32)
    model.gates.detach()  # time the plain network
    table = measure_latency_table(model.architecture.eval(), groups, x, FlopsTimer())
    model.gates.attach()
    res = build_resource(dict(type='latency', table=table), groups)

    def resource(widths):
        return res.plan_value(groups, model.gates.width_plan(widths))

    budget = 0.6 * table['networks']['full_ms']
    found = greedy_search(model, _distance_score(model), budget, resource, step=0.25)
    assert found['resource'] <= budget < resource(model.full_widths())


def test_resolution_dimension_counts_flops_exactly_and_is_searched():
    from types import SimpleNamespace

    model = _slimmable(depth=8, min_share=0.25, resolutions=[32, 16, 24])
    model.before_train(None)
    assert model.resolutions == [16, 24, 32] and model.resolution == 32
    assert model.sandwich_resolutions()[:2] == [32, 16]
    full = model.channel_groups.full_flops()
    model.eval()
    for r in model.resolutions:  # exact FLOPs of a subnet at every resolution
        model.set_resolution(r)
        widths = model.random_widths()
        model.gates.set_widths(widths)
        x = torch.randn(2, 3, r, r)
        pruned, plan, diff = export_model(model, x)
        assert diff < 1e-5
        counted = count_conv_linear_flops(pruned, (x[:1],))
        assert model.flops_ratio(widths) * full == pytest.approx(counted, rel=1e-9)
    # the architecture sees the inputs at the current resolution
    seen = []
    hook = model.architecture.register_forward_pre_hook(lambda m, a: seen.append(a[0].shape))
    model.set_resolution(16)
    model.call_architecture(torch.randn(1, 3, 32, 32))
    hook.remove()
    assert tuple(seen[0][-2:]) == (16, 16)
    with pytest.raises(ValueError, match='pixel labels'):
        model(torch.randn(1, 3, 32, 32), [SimpleNamespace(gt_sem_seg=None)], mode='loss')
    # the search: with equal scores the biggest saving, the lower resolution, goes first
    model.gates.set_widths(model.full_widths())
    at = {r: build_resource('flops', model.resolution_groups(r)) for r in model.resolutions}

    def resource(widths):
        return at[model.resolution].plan_value(model.resolution_groups(),
                                               model.gates.width_plan(widths))
    found = greedy_search(model, lambda: 0.0, 0.3 * full, resource, step=0.25)
    first = found['history'][0]
    assert (first['group'], first['width'], first['score']) == ('input resolution', 24, 0.0)
    assert found['resource'] <= 0.3 * full and found['resolution'] == model.resolution
    assert found['resolution'] in (16, 24)
    with pytest.raises(ValueError, match='largest of resolutions'):
        _slimmable(depth=8, resolutions=[16, 24])
    fixed = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 32 * 32, 2))
    with pytest.raises(ValueError, match='resolution 16: the model cannot take'):
        SlimmableNetwork(fixed, input_shape=(1, 3, 32, 32), forward_mode=None,
                         resolutions=[16, 32])


SLIMMABLE = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='SlimmableNetwork', architecture=_base_.model,
             input_shape=(1, 3, 32, 32), min_share=0.25, num_random=1)
custom_hooks = [dict(type='PruningHook')]
"""


@pytest.mark.slow
def test_slimmable_training_then_search_tool(tmp_path, monkeypatch):
    from .test_training_time import _write

    cfg = _write(tmp_path, 'slim', SLIMMABLE, monkeypatch)
    runner = _tool('train').main([cfg, '--work-dir', str(tmp_path / 'run'), '--quiet',
                                  '--cfg-options', 'randomness.seed=0'])
    scalars = runner.message_hub.log_scalars
    assert 'train/loss_smallest' in scalars and 'train/loss_random1' in scalars
    ckpt = str(tmp_path / 'run' / 'iter_4.pth')
    state = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    assert bool(state['ordered'])
    rank = state['gates.rank1']
    assert sorted(rank.tolist()) == list(range(len(rank)))
    search = _tool('search')
    out = tmp_path / 'found'
    info = search.main([cfg, ckpt, '--out', str(out), '--flops', '0.5', '--batches', '1',
                        '--step', '0.5'])
    assert info['flops']['ratio'] <= 0.5
    assert info['max_relative_difference_to_gated'] < 1e-5
    steps = json.load(open(out / 'search.json'))['history']
    assert len(steps) == info['search']['steps'] >= 1
    assert (out / 'plan.json').is_file()
    # the same search with the found network's BN statistics re-estimated on training batches:
    # the same plan and weights, other running statistics
    info = search.main([cfg, ckpt, '--out', str(tmp_path / 'bn'), '--flops', '0.5',
                        '--batches', '1', '--step', '0.5', '--recalibrate-bn', '2'])
    assert info['bn_recalibrated_batches'] == 2
    assert json.load(open(tmp_path / 'bn' / 'plan.json'))['groups'] == \
        json.load(open(out / 'plan.json'))['groups']
    plain, calibrated = (torch.load(d / 'pruned_weights.pth', weights_only=True)
                         for d in (out, tmp_path / 'bn'))
    means = [k for k in plain if k.endswith('running_mean')]
    assert means and all(torch.equal(plain[k], calibrated[k]) for k in plain
                         if 'running' not in k and 'num_batches' not in k)
    assert any(not torch.equal(plain[k], calibrated[k]) for k in means)
    # refused in the budget's unit, with the smallest widths' share of the full network
    with pytest.raises(ValueError, match=r'budget \S+ FLOPs is below what the smallest widths '
                                         r'.* need \(\S+ FLOPs.*, \d+\.\d % of the full'):
        search.main([cfg, ckpt, '--out', str(tmp_path / 'none'), '--flops', '0.01'])
    with pytest.raises(SystemExit):
        search.main([cfg, ckpt, '--out', str(tmp_path / 'none'), '--latency-ms', '3'])
    # a latency budget as a share of the full network's predicted milliseconds
    from gdpseg.apis.prune import load_pruning_model
    from gdpseg.core import full_plan
    from gdpseg.deploy.latency import latency_resource, measure_latency_table

    from ..deploy.test_latency import FlopsTimer
    _, slim = load_pruning_model(cfg, ckpt)
    arch, x = slim.architecture.eval(), torch.randn(1, 3, 32, 32)
    table = measure_latency_table(arch, slim.channel_groups, x, FlopsTimer(),
                                  forward_fn=slim.forward_fn)
    (tmp_path / 'latency.json').write_text(json.dumps(table))
    info = search.main([cfg, ckpt, '--out', str(tmp_path / 'lat'), '--latency-ratio', '0.6',
                        '--latency-table', str(tmp_path / 'latency.json'), '--batches', '1',
                        '--step', '0.5'])
    full_ms = latency_resource(slim.channel_groups, table).plan_value(
        slim.channel_groups, full_plan(slim.channel_groups))
    assert info['search']['unit'] == 'ms' and info['search']['budget'] == pytest.approx(
        0.6 * full_ms)
    assert info['search']['resource'] <= 0.6 * full_ms
    assert info['max_relative_difference_to_gated'] < 1e-5
    with pytest.raises(SystemExit):  # two budgets
        search.main([cfg, ckpt, '--out', str(tmp_path / 'none'), '--flops', '0.5',
                     '--latency-ratio', '0.5', '--latency-table', 'x.json'])
    # the same checkpoint searched with input resolutions: exported at the found one
    info = search.main([cfg, ckpt, '--out', str(tmp_path / 'res'), '--flops', '0.3',
                        '--batches', '1', '--step', '0.5',
                        '--cfg-options', 'model.resolutions=[16,24,32]'])
    size = info['search']['resolution']
    assert size in (16, 24, 32) and info['input_shape'] == [1, 3, size, size]
    assert info['flops']['ratio'] <= 0.3 and info['max_relative_difference_to_gated'] < 1e-5
    assert f'{size}x{size}, searched over [16, 24, 32]' in (tmp_path / 'res' / 'report.txt') \
        .read_text()
    # calibrated at the found resolution: its training batches resized to it, as in training
    from gdpseg.engine import bn_recalibration
    seen, calibrate = [], bn_recalibration.recalibrate_bn

    def recording(model, batches, forward):
        def shapes():
            for b in batches:
                seen.append(tuple(b.shape[-2:]))
                yield b
        return calibrate(model, shapes(), forward)
    monkeypatch.setattr(bn_recalibration, 'recalibrate_bn', recording)
    calibrated = search.main([cfg, ckpt, '--out', str(tmp_path / 'res_bn'), '--flops', '0.3',
                              '--batches', '1', '--step', '0.5', '--recalibrate-bn', '1',
                              '--cfg-options', 'model.resolutions=[16,24,32]'])
    assert size < 32  # below the dataset's size: the batches were resized
    assert calibrated['bn_recalibrated_batches'] == 1 and seen == [(size, size)]
    plain, bn = (torch.load(tmp_path / d / 'pruned_weights.pth', weights_only=True)
                 for d in ('res', 'res_bn'))
    assert any(not torch.equal(plain[k], bn[k]) for k in plain if k.endswith('running_mean'))
    with pytest.raises(ValueError, match='latency table is measured at one input size'):
        search.main([cfg, ckpt, '--out', str(tmp_path / 'none'), '--latency-ms', '3',
                     '--latency-table', 'x.json', '--cfg-options', 'model.resolutions=[16,32]'])


def test_sandwich_step_keeps_the_full_networks_batchnorm_statistics():
    import copy

    from mmengine.optim import OptimWrapper

    from .cls_parts import DigitsClassifier

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = SlimmableNetwork(DigitsClassifier(depth=8), input_shape=(1, 3, 32, 32),
                                 num_random=2)
    model.before_train(None)
    reference = copy.deepcopy(model.architecture)
    x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    reference.train()
    model.gates.detach()  # the reference: the full network's one forward pass
    reference(x, y, mode='loss')
    model.gates.attach()
    model.train()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    logs = model.train_step(dict(inputs=x, label=y), wrapper)
    assert {'loss_largest', 'loss_smallest', 'loss_random1', 'loss_random2'} <= set(logs)
    norms = [(a, b) for a, b in zip(model.architecture.modules(), reference.modules())
             if isinstance(a, torch.nn.BatchNorm2d)]
    assert norms and all(torch.allclose(a.running_mean, b.running_mean) and
                         torch.allclose(a.running_var, b.running_var) for a, b in norms)
    assert model.training_cost() > 1  # four subnets ran
    # a loop that calls the model's loss itself would train one width: refused
    with pytest.raises(RuntimeError, match='its own train_step'):
        model(x, y, mode='loss')


class _Chain(torch.nn.Module):
    """No residual branch: removing any group cuts the output from the input."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU())
        self.head = torch.nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.head(self.body(x))


def test_skipping_blocks_adds_depth_to_the_space_and_exports_exactly():
    model = _slimmable(depth=8, min_share=0.5, skip_blocks=True, skip_prob=1.0)
    model.before_train(None)
    groups, gates = model.channel_groups, model.gates
    # the ResNet-8's prunable groups are the blocks' inner channels: each can be removed
    assert [s for s, g in zip(model.skippable, gates.groups) if g.prunable] == \
        [True] * sum(g.prunable for g in gates.groups)
    assert all(w == 0 for w, g in zip(model.random_widths(), gates.groups) if g.prunable)
    assert model.narrower(next(i for i, g in enumerate(gates.groups) if g.prunable),
                          model.min_widths()[0], 0.5) is not None
    x = torch.randn(2, 3, 32, 32)
    model.eval()
    widths = model.full_widths()
    first = next(i for i, g in enumerate(gates.groups) if g.prunable)
    widths[first] = 0  # the first block removed
    gates.set_widths(widths)
    pruned, plan, diff = export_model(model, x)
    assert diff < 1e-5 and (first in plan.silent or len(plan.keep[first]) == 0)
    assert plan_flops(groups, plan) == count_conv_linear_flops(pruned, (x[:1],))
    # a budget below what the smallest widths need without skipping is met by skipping
    res = build_resource('flops', groups)

    def resource(w):
        return res.plan_value(groups, gates.width_plan(w))

    no_skip = resource(model.min_widths())
    found = greedy_search(model, _distance_score(model), 0.9 * no_skip, resource, step=0.5)
    assert found['resource'] <= 0.9 * no_skip and 0 in found['widths']
    with pytest.raises(ValueError, match='no group can be removed'):
        SlimmableNetwork(_Chain(), input_shape=(1, 3, 16, 16), forward_mode=None,
                         skip_blocks=True)
