"""The latency model: the fit, the bilinear resource it builds, and budgets in milliseconds."""
import pytest
import torch

from gdpseg.core import PruningPlan, prune, resolve, trace_groups
from gdpseg.deploy.latency import (build_latency_model, fit_bilinear, latency_resource,
                                   measure_latency_table, signature)
from gdpseg.methods.gdp import attach_gates
from gdpseg.models import CifarResNet


def test_fit_recovers_known_coefficients_from_synthetic_timings():
    gen = torch.Generator().manual_seed(0)
    a, b, c, d = 3e-6, 0.02, 0.05, 0.7
    points = []
    for cin in (16, 32, 48, 64):
        for cout in (8, 16, 24, 32):
            flops = 9 * 64 * cin * cout
            noise = 1 + 0.001 * float(torch.randn(1, generator=gen))
            points.append((flops, cin, cout, (a * flops + b * cin + c * cout + d) * noise))
    fit = fit_bilinear(points)
    for got, want in zip(fit, (a, b, c, d)):
        assert got == pytest.approx(want, rel=0.05)


class FlopsTimer:
    """A deterministic 'machine': a layer takes 1 ms per 10⁶ multiply-adds plus 0.1 ms per
    layer and 10⁻⁵ ms per output element of every BatchNorm."""
    backend, threads = 'synthetic', 1

    def __call__(self, module, x, forward_fn=None):
        from gdpseg.evaluation import count_conv_linear_flops
        flops = count_conv_linear_flops(module, (x,))
        layers = sum(isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) for m in module.modules())
        elements = []
        hooks = [m.register_forward_hook(lambda m, i, o: elements.append(o.numel()))
                 for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        with torch.no_grad():
            module(x)
        for h in hooks:
            h.remove()
        return flops / 1e6 + 0.1 * layers + 1e-5 * sum(elements)


def _measured_resnet8():
    """A ResNet-8, its input, groups, the deterministic machine and its latency table."""
    torch.manual_seed(0)
    net = CifarResNet(8, num_classes=10).eval()
    x = torch.randn(1, 3, 32, 32)
    groups = trace_groups(net, (x,))
    timer = FlopsTimer()
    return net, x, groups, timer, measure_latency_table(net, groups, x, timer)


def test_latency_model_of_a_network_predicts_its_exports():
    net, x, groups, timer, table = _measured_resnet8()
    # every distinct layer was fitted, and the synthetic machine is fitted exactly
    assert len(table['layers']) == len({signature(c) for c in groups.counted_calls()})
    assert max(v['max_fit_error'] for v in table['layers'].values()) < 1e-6
    resource = latency_resource(groups, table)
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        keep = [torch.arange(g.size) if not g.prunable else
                torch.sort(torch.randperm(g.size, generator=gen)[:max(1, g.size // 3)]).values
                for g in groups.groups]
        plan = resolve(groups, PruningPlan(keep))
        measured = timer(prune(net, groups, plan), x)
        assert resource.plan_value(groups, plan) == pytest.approx(measured, rel=0.02)


def test_latency_resource_drives_gates_and_a_budget_in_milliseconds():
    net = CifarResNet(8, num_classes=10).eval()
    x = torch.randn(1, 3, 32, 32)
    groups = trace_groups(net, (x,))
    table = measure_latency_table(net, groups, x, FlopsTimer())
    gates = attach_gates(net, (x,), resource=dict(type='latency', table=table))
    full = gates.full_resource_value()
    assert full == pytest.approx(table['networks']['full_ms'], rel=1e-6)
    with torch.no_grad():
        for a in gates.alphas:
            a.uniform_(0.1, 1.0)
    gates.prox_step(lr=1.0, lam=1e4, min_ratio=0.5)
    assert 0.5 <= gates.resource_ratio() < 0.6
    assert gates.resource_value() == pytest.approx(gates.resource_ratio() * full)


def test_a_table_of_another_model_is_refused_by_layer():
    net = CifarResNet(8, num_classes=10).eval()
    groups = trace_groups(net, (torch.randn(1, 3, 32, 32),))
    other = trace_groups(CifarResNet(8, num_classes=10).eval(), (torch.randn(1, 3, 16, 16),))
    fits = {signature(c): dict(coef=[1.0, 0, 0, 0]) for c in other.counted_calls()}
    with pytest.raises(KeyError, match='measured for another model or input size'):
        build_latency_model(groups, fits, 0.0, 0.0)


@pytest.mark.slow
def test_measure_tool_writes_a_table_that_gates_use(tmp_path, monkeypatch):
    """The command-line tool on a real (tiny) network: the table loads as a resource."""
    from pathlib import Path

    from tests.runner.test_other_task import BASELINE
    from tests.runner.test_runner import _tool

    root = Path(__file__).resolve().parents[2]
    monkeypatch.syspath_prepend(str(root))
    (tmp_path / 'cls.py').write_text(BASELINE.replace("depth=20", "depth=8"))
    measure = _tool('analysis_tools/measure_latency')
    out = tmp_path / 'latency.json'
    table = measure.main([str(tmp_path / 'cls.py'), '--out', str(out), '--shape', '32', '32',
                          '--check', '2', '--min-seconds', '0.005'])
    assert out.is_file() and table['networks']['full_ms'] > 0
    assert [r['network'] for r in table['check']] == ['full', 'random 1', 'random 2']
    assert all(r['predicted_ms'] > 0 and r['measured_ms'] > 0 for r in table['check'])
    # an input the network cannot take is named, with the fix, and nothing is written
    with pytest.raises(ValueError, match=r'input of shape \[1, 1, 32, 32\] \(--shape\).*'
                                         r'--shape C H W'):
        measure.main([str(tmp_path / 'cls.py'), '--out', str(tmp_path / 'bad.json'),
                      '--shape', '1', '32', '32'])
    assert not (tmp_path / 'bad.json').exists()
    # two exports of that network timed in turns with it, against the table's predictions
    from gdpseg.registry import MODELS
    from gdpseg.utils import load_config
    model = MODELS.build(load_config(str(tmp_path / 'cls.py')).model)
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'base.pth')
    (tmp_path / 'l1.py').write_text(
        "_base_ = ['cls.py']\nmodel = dict(_delete_=True, type='OneShotPruning', "
        "architecture=_base_.model, input_shape=(1, 3, 32, 32), forward_mode='tensor', "
        "ratio=0.5)\n")
    exports = []
    for ratio in ('0.5', '0.25'):
        exports.append(str(tmp_path / f'e{ratio}'))
        _tool('prune').main([str(tmp_path / 'l1.py'), str(tmp_path / 'base.pth'), '--out',
                             exports[-1], '--no-onnx', '--cfg-options', f'model.ratio={ratio}'])
    bench = _tool('benchmark/export_latency')
    rows = bench.main([*exports, '--full', str(tmp_path / 'cls.py'), '--table', str(out),
                       '--rounds', '2', '--backend', 'torch', '--threads', '1'])
    assert [r['network'] for r in rows] == ['full network', *exports]
    full, half, quarter = rows
    assert full['flops_ratio'] == 1 and 0.25 < half['flops_ratio'] <= 0.5
    assert quarter['flops_ratio'] <= 0.25
    assert full['predicted_ms'] == pytest.approx(table['check'][0]['predicted_ms'], rel=1e-6)
    assert full['predicted_ms'] > half['predicted_ms'] > quarter['predicted_ms'] > 0
    assert all(0 < r['min_ms'] <= r['median_ms'] <= r['max_ms'] for r in rows)


def test_fit_keeps_every_term_non_negative_on_noisy_timings():
    # timings where an unconstrained fit gives the fixed cost a large negative value: the time
    # of the smallest layer is below the trend of the others (noise), so small widths would be
    # predicted negative
    points = [(f, i, o, t) for f, i, o, t in [
        (100, 1, 1, 0.01), (400, 2, 2, 3.0), (900, 3, 3, 4.0), (1600, 4, 4, 5.0),
        (2500, 5, 5, 6.0), (3600, 6, 6, 7.0)]]
    data = torch.tensor(points, dtype=torch.float64)
    design = torch.cat([data[:, :3], torch.ones(len(data), 1, dtype=torch.float64)], 1)
    free = torch.linalg.lstsq(design, data[:, 3:], driver='gelsd').solution[:, 0]
    assert float((design @ free).min()) < 0 or bool((free < 0).any())  # the case is real
    fit = fit_bilinear(points)
    assert all(v >= 0 for v in fit)
    for f, i, o, _ in points + [(0, 1, 1, 0)]:
        assert fit[0] * f + fit[1] * i + fit[2] * o + fit[3] >= 0
    # the constrained fit is the best among non-negative ones: no better one on a grid nearby
    err = sum((fit[0] * f + fit[1] * i + fit[2] * o + fit[3] - t) ** 2 for f, i, o, t in points)
    for k in range(4):
        for d in (1e-3, -1e-3):
            trial = list(fit)
            trial[k] = max(0.0, trial[k] + d * (abs(trial[k]) + 1e-3))
            worse = sum((trial[0] * f + trial[1] * i + trial[2] * o + trial[3] - t) ** 2
                        for f, i, o, t in points)
            assert worse >= err - 1e-12


def test_a_uniform_width_is_chosen_by_milliseconds_and_refused_below_the_fixed_cost():
    """``OneShotPruning(resource=latency)``: the export keeps at most the ratio of the full
    network's measured milliseconds (the deterministic machine above) and lands close to it;
    a budget under the fixed cost of the layers is refused by name."""
    from gdpseg.methods.importance import filter_l1, plan_at_ratio
    from gdpseg.methods.one_shot import OneShotPruning
    net, x, groups, timer, table = _measured_resnet8()
    algo = OneShotPruning(net, ratio=0.6, input_shape=(1, 3, 32, 32), forward_mode=None,
                          resource=dict(type='latency', table=table))
    plan = algo.plan()
    resource = latency_resource(algo.channel_groups, table)
    full = table['networks']['full_ms']
    used = resource.plan_value(algo.channel_groups, plan)
    assert 0.55 * full < used <= 0.6 * full
    export = prune(algo.channel_groups.model, algo.channel_groups, plan)
    assert timer(export, x) == pytest.approx(used, rel=0.02)  # the machine agrees
    # by FLOPs the same ratio keeps fewer milliseconds' worth of channels: the fixed cost per
    # layer does not shrink with the width, so 60 % of the milliseconds is a lower FLOPs share
    by_flops = plan_at_ratio(groups, filter_l1(groups), 0.6)
    assert resource.plan_value(groups, by_flops) > 0.6 * full
    with pytest.raises(ValueError, match='LatencyResource ratio of 0.05 cannot be reached'):
        plan_at_ratio(groups, filter_l1(groups), 0.05, resource=resource)
