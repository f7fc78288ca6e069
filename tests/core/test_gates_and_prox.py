"""Gates, the proximal step against brute force, ε decay, unsupported ops, exclusion."""
import itertools
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from gdpseg.core import BilinearResource, UnsupportedOpError, prune
from gdpseg.methods.gdp import (EpsilonSchedule, alternating_prox, attach_gates, polarized_gate,
                                soft_threshold)

from .helpers import check_export


class TinyNet(nn.Module):
    """Residual add, a two-branch concat, a depthwise conv, SE-style scaling and flatten->linear."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.a1 = nn.Conv2d(8, 6, 1)
        self.a2 = nn.Conv2d(6, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.b1 = nn.Conv2d(8, 5, 1)
        self.b2 = nn.Conv2d(8, 4, 3, padding=2, dilation=2)
        self.se = nn.Conv2d(9, 9, 1)
        self.fc = nn.Linear(9 * 4, 3)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        x = x + self.a2(F.relu(self.a1(x)))  # residual: stem, a2 coupled
        x = F.relu(self.dw(x))  # depthwise: channel-wise member of that group
        y = torch.cat([self.b1(x), self.b2(x)], 1)  # two segments
        y = y * torch.sigmoid(self.se(F.adaptive_avg_pool2d(y, 1)))  # SE couples se with y
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 2), 1))


def _tiny():
    torch.manual_seed(0)
    model = TinyNet().eval()
    return model, attach_gates(model, (torch.randn(2, 3, 8, 8),))


def test_groups_of_tiny_net():
    _, gates = _tiny()
    by_name = {g.name: g for g in gates.groups}
    residual = by_name['stem (+1 coupled)']
    assert residual.prunable and residual.size == 8
    assert set(residual.producers) == {'stem', 'a2'}
    assert set(residual.consumers) == {'a1', 'b1', 'b2'}  # not dw: depthwise is channel-wise
    assert {'bn', 'dw'} <= set(residual.members)
    assert by_name['a1'].consumers == ['a2']
    # The SE product pairs se's 9 outputs with the concat of two groups (5 + 4): se's output is
    # split into two sub-groups, one coupled with b1, one with b2.
    assert {g.name for g in gates.groups if g.prunable} == {
        'stem (+1 coupled)', 'a1', 'b1 (+1 coupled)', 'b2 (+1 coupled)'}
    assert by_name['b1 (+1 coupled)'].producers == ['b1', 'se']
    assert [s.node for s in gates.channel_groups.graph.modules['se'].out_segs] != [
        gates.channel_groups.graph.modules['se'].out_node]


def test_gate_scales_consumer_inputs_and_gets_gradients():
    model, gates = _tiny()
    res = next(g for g in gates.groups if g.name == 'stem (+1 coupled)')
    with torch.no_grad():
        gates.alpha(res).copy_(torch.linspace(0, 1, 8))
    gates.set_eps(0.05)
    x = torch.randn(2, 3, 8, 8)
    out = model(x)
    # reference: gate applied by hand to the consumers' inputs
    g = polarized_gate(gates.alpha(res).detach(), 0.05).view(1, -1, 1, 1)
    inner = next(g for g in gates.groups if g.name == 'a1')
    g_a1 = polarized_gate(gates.alpha(inner).detach(), 0.05).view(1, -1, 1, 1)  # 1/(1+ε) at α=1
    g_b = torch.cat([polarized_gate(gates.alpha(gates.channel_groups.by_name(n)).detach(), 0.05)
                     for n in ('b1 (+1 coupled)', 'b2 (+1 coupled)')]).view(1, -1, 1, 1)
    gates.detach()
    m = model
    with torch.no_grad():
        h = F.relu(m.bn(m.stem(x)))
        h = h + m.a2(F.relu(m.a1(h * g)) * g_a1)
        h = F.relu(m.dw(h))
        y = torch.cat([m.b1(h * g), m.b2(h * g)], 1)
        y = y * torch.sigmoid(m.se(F.adaptive_avg_pool2d(y, 1) * g_b))
        ref = m.fc(torch.flatten(F.adaptive_avg_pool2d(y, 2) * g_b, 1))
    gates.attach()
    torch.testing.assert_close(out.detach(), ref)
    out.sum().backward()
    assert gates.alpha(res).grad is not None and gates.alpha(res).grad.abs().sum() > 0
    assert gates.alpha(res).grad[0] == 0  # g'(0) = 0: a zero gate gets no gradient
    # the model's parameters are the original ones; the hook restored them after the call
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())
    assert model.a1.weight.grad is not None


def test_hook_restores_weight_when_forward_raises():
    model, gates = _tiny()
    weight = model.a1.weight
    with pytest.raises(RuntimeError):
        model(torch.randn(2, 4, 8, 8))  # wrong channel count fails inside stem, before a1
    with pytest.raises(RuntimeError):
        model.a1(torch.randn(2, 5, 8, 8))  # fails inside a1 itself
    assert model.a1.weight is weight


def test_tiny_net_export_matches_and_flops():
    model, gates = _tiny()
    with torch.no_grad():
        for g in gates.groups:
            if g.prunable:
                gates.alpha(g).copy_(torch.rand(g.size) + 0.1)
                gates.alpha(g)[::3] = 0
    pruned = check_export(model, gates, (2, 3, 8, 8))
    assert pruned.dw.groups == pruned.dw.in_channels == 5  # 8 channels, every third zeroed
    assert pruned.a1.out_channels == 4


@settings(max_examples=25, deadline=None)
@given(st.lists(st.booleans(), min_size=23, max_size=23), st.floats(0.01, 0.5))
def test_property_any_zero_pattern_exports_exactly(pattern, eps):
    model, gates = _tiny()
    gates.set_eps(eps)
    bits = iter(pattern)
    with torch.no_grad():
        for g in gates.groups:
            if g.prunable:
                gates.alpha(g).copy_(torch.linspace(0.2, 1.5, g.size))
                for i in range(g.size):
                    if next(bits):
                        gates.alpha(g)[i] = 0
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        ref = model(x)
        out = prune(model, gates)(x)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ proximal step
def _random_resource(n, seed):
    g = torch.Generator().manual_seed(seed)
    res = BilinearResource(n)
    for p, q in itertools.combinations(range(n), 2):
        if torch.rand(1, generator=g) < 0.6:
            res.add_pair(p, q, float(torch.rand(1, generator=g)))
    res.lin += torch.rand(n, generator=g, dtype=torch.float64)
    return res


def test_soft_threshold_is_the_l1_prox():
    x = torch.linspace(-2, 2, 41)
    grid = torch.linspace(-3, 3, 60001)
    for beta in (0.0, 0.3, 1.1):
        brute = grid[((grid.view(-1, 1) - x) ** 2 / 2 + beta * grid.abs().view(-1, 1)).argmin(0)]
        torch.testing.assert_close(soft_threshold(x, beta), brute, atol=1e-3, rtol=0)


@pytest.mark.parametrize('seed', range(5))
def test_alternating_prox_matches_brute_force_of_the_relaxed_problem(seed):
    """Each group's result minimises ½‖α_l − α̂_l‖² + ηλ(Σ_k a_lk‖α_k‖₀ + b_l)‖α_l‖₁ / R_full."""
    g = torch.Generator().manual_seed(seed)
    sizes = [3, 2, 4]
    res = _random_resource(3, seed)
    hat = [torch.randn(s, generator=g) * 0.5 for s in sizes]
    hat[1][0] = 0.0  # a zero stays zero
    lr, lam = 0.5, 2.0
    new = alternating_prox([h.clone() for h in hat], res, [0, 1, 2], sizes, lr, lam, passes=1)
    counts = [int(torch.count_nonzero(h)) for h in hat]
    full = res.value(sizes)
    grid = torch.linspace(-2, 2, 8001)
    for l, (h, n) in enumerate(zip(hat, new)):
        coef = sum(float(res.pair[l, k]) * counts[k] for k in range(3) if k != l)
        beta = lr * lam * (coef + float(res.lin[l])) / full
        for i in range(len(h)):  # the objective separates over entries
            obj = 0.5 * (grid - h[i]) ** 2 + beta * grid.abs()
            assert abs(float(n[i]) - float(grid[obj.argmin()])) < 1e-3
    assert new[1][0] == 0


def test_more_passes_use_updated_counts_and_lambda_zero_is_identity():
    res = _random_resource(2, 7)
    hat = [torch.tensor([0.01, 0.02, 1.0]), torch.tensor([0.5, 0.6])]
    same = alternating_prox(hat, res, [0, 1], [3, 2], lr=1.0, lam=0.0)
    assert all(torch.equal(a, b) for a, b in zip(same, hat))
    one = alternating_prox(hat, res, [0, 1], [3, 2], lr=1.0, lam=0.3, passes=1)
    two = alternating_prox(hat, res, [0, 1], [3, 2], lr=1.0, lam=0.3, passes=2)
    # fewer live channels in group 0 after pass 1 lower group 1's threshold in pass 2
    assert torch.count_nonzero(one[0]) < 3
    assert torch.all(two[1].abs() >= one[1].abs())


def test_prox_step_prunes_towards_lower_flops_and_min_channels():
    model, gates = _tiny()
    with torch.no_grad():
        for g in gates.groups:
            gates.alpha(g).copy_(torch.linspace(0.05, 1.0, g.size))
    full = gates.flops()
    alphas = [gates.alpha(g).detach().clone() for g in gates.groups]
    for _ in range(30):
        gates.prox_step(lr=0.1, lam=20.0)
    assert gates.flops() < full
    for g, before in zip(gates.groups, alphas):  # fixed groups are never touched
        assert g.prunable or torch.equal(gates.alpha(g).detach(), before)
        assert torch.all(gates.alpha(g).detach().abs() <= before.abs())
    model2, gates2 = _tiny()
    gates2.min_channels = 3
    for _ in range(200):
        gates2.prox_step(lr=0.1, lam=5.0)
    cut = gates2.channel_groups.cut_groups()
    assert cut  # the stem's group: every path from the input crosses it
    for i, g in enumerate(gates2.groups):  # a surviving group keeps 3; only branches may die
        if g.prunable:
            assert gates2.live(i) >= 3 or (gates2.live(i) == 0 and i not in cut)


def test_epsilon_schedule_decays_by_period_with_a_floor():
    sched = EpsilonSchedule(0.1, factor=0.5, period=3)
    assert [sched.eps_at(t) for t in range(1, 8)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025])
    assert EpsilonSchedule(0.1, factor=0.1, period=1, min_eps=1e-6).eps_at(50) == 1e-6
    for bad in (dict(factor=1.5), dict(factor=0.0), dict(period=0), dict(min_eps=0.0)):
        with pytest.raises(ValueError):
            EpsilonSchedule(0.1, **{'factor': 0.9, **bad})
    with pytest.raises(ValueError, match='eps0'):
        EpsilonSchedule(0.0, factor=0.9)
    _, gates = _tiny()
    gates.set_eps(EpsilonSchedule(0.1, 0.1, 1).eps_at(10 ** 6))  # the floor: no 0/0
    with torch.no_grad():
        gates.alphas[1][:2] = 0
    assert torch.isfinite(gates.gate_values()).all() and float(gates.eps) == 1e-12
    for bad in (0.0, -1.0, float('nan')):
        with pytest.raises(ValueError, match='positive'):
            gates.set_eps(bad)


# ------------------------------------------------------------------ unsupported ops
class LNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3)
        # over the positions and the channels together: fixed (over the channels alone, as
        # ConvNeXt's, it is prunable: tests/core/test_layernorm.py)
        self.ln = nn.LayerNorm([6, 6, 8])
        self.c2 = nn.Conv2d(8, 8, 1)
        self.c3 = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        x = self.ln(self.c1(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        y = torch.flip(self.c2(x), [1])  # reverses the channels: not modelled
        return self.c3(y)


def test_unsupported_ops_warn_once_and_keep_channels():
    model = LNNet()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        gates = attach_gates(model, (torch.randn(1, 3, 8, 8),))
    msgs = [str(w.message) for w in caught if str(w.message).startswith('gdpseg')]
    assert any('layer_norm over the channels' in m and 'ln' in m for m in msgs), msgs
    assert any('flip' in m for m in msgs), msgs
    assert len(msgs) == len(set(msgs))
    by_name = {g.name: g for g in gates.groups}
    assert not by_name['c1'].prunable and not by_name['c2'].prunable
    assert 'statistics' in gates.summary()  # the reason LayerNorm's channels stay
    with pytest.raises(UnsupportedOpError, match='layer_norm.*ln'):
        attach_gates(LNNet(), (torch.randn(1, 3, 8, 8),), strict=True)


@pytest.mark.parametrize('batch', [1, 3])
def test_flatten_to_linear_with_batch_one(batch):
    import torchvision

    model = torchvision.models.resnet18(num_classes=5).eval()
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no op may be reported as unsupported
        gates = attach_gates(model, (torch.randn(batch, 3, 32, 32),))
    last = next(g for g in gates.groups if 'fc' in g.consumers)
    assert last.prunable


def test_exclude_patterns_and_mmseg_style_forward_fn():
    model = TinyNet()
    gates = attach_gates(model, (torch.randn(1, 3, 8, 8),), exclude=('a*',))
    by_name = {g.name: g for g in gates.groups}
    assert not by_name['a1'].prunable and 'excluded: a1' in by_name['a1'].reasons
    assert not by_name['stem (+1 coupled)'].prunable  # a1 reads it, a2 writes it
    calls = []
    gates2 = attach_gates(TinyNet(), (torch.randn(1, 3, 8, 8),),
                          forward_fn=lambda m, xs: calls.append(1) or m(*xs))
    assert calls and any(g.prunable for g in gates2.groups)  # traced (and checked) with it
    with pytest.raises(TypeError, match='tuple'):
        attach_gates(TinyNet(), torch.randn(1, 3, 8, 8))


def test_channel_multiple_rounds_kept_channels_with_silent_fillers():
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=4).eval()
    gates = attach_gates(model, (torch.randn(2, 3, 32, 32),), channel_multiple=8)
    with torch.no_grad():
        for g in gates.groups:
            if g.prunable:
                gates.alpha(g).copy_(torch.rand(g.size) + 0.1)
                gates.alpha(g)[: g.size // 3] = 0  # 21 of 64, 42 of 128, ...: not multiples of 8
    counts = [len(k) for k, g in zip(gates.keep_indices(), gates.groups) if g.prunable]
    assert all(c % 8 == 0 for c in counts)
    assert any(c > gates.live(g) for c, g in zip(counts, [g for g in gates.groups if g.prunable]))
    check_export(model, gates, (2, 3, 32, 32))
    with pytest.raises(ValueError, match='channel_multiple'):
        attach_gates(TinyNet(), (torch.randn(1, 3, 8, 8),), channel_multiple=0)


def test_gating_on_input_or_on_weight_computes_the_same(monkeypatch):
    import torchvision

    from gdpseg.core import channel_gates as gates_module

    outputs = {}
    x = torch.randn(2, 3, 64, 64)
    for batch in (0, 16, 10 ** 9):  # 0: every gate on weights; 1e9: every gate on inputs
        monkeypatch.setattr(gates_module, 'ACTIVATION_GATE_BATCH', batch)
        torch.manual_seed(0)
        model = torchvision.models.resnet18(num_classes=4).eval()
        gates = attach_gates(model, (x,))
        modes = [h.on_input for h in _hooks(model)]
        if batch == 16:  # the default mixes both: input gates on low-resolution layers
            assert any(modes) and not all(modes)
        with torch.no_grad():
            for g in gates.groups:
                if g.prunable:
                    gates.alpha(g).copy_(torch.linspace(0.0, 1.0, g.size))
            outputs[batch] = model(x)
    torch.testing.assert_close(outputs[0], outputs[10 ** 9])
    torch.testing.assert_close(outputs[0], outputs[16])


def _hooks(model):
    from gdpseg.core.channel_gates import _GateHook

    return [h for m in model.modules() for h in m._forward_pre_hooks.values()
            if isinstance(h, _GateHook)]


def test_a_huge_lambda_cannot_cut_the_network_unless_asked():
    import torchvision

    x = torch.randn(2, 3, 32, 32)
    for keep_connected in (True, False):
        torch.manual_seed(0)
        model = torchvision.models.resnet18(num_classes=4).eval()
        gates = attach_gates(model, (x,), keep_connected=keep_connected)
        for _ in range(5):
            gates.prox_step(lr=1.0, lam=1e6)
        cut = gates.channel_groups.cut_groups()
        names = {gates.groups[i].name for i in cut}
        assert 'conv1 (+2 coupled)' in names  # the stem and layer1's trunk
        if keep_connected:
            assert all(gates.live(i) >= 1 for i in cut)
            assert all(gates.live(i) == 0 for i, g in enumerate(gates.groups)
                       if g.prunable and i not in cut)  # every branch died
            # a path from the input to the output survives the export: no trunk group is
            # silent and none of its producers is replaced by a carrier
            plan = gates.plan()
            assert not set(cut) & plan.silent
            assert not plan.carriers & {p for i in cut for p in gates.groups[i].producers}
            assert isinstance(prune(model, gates).conv1, nn.Conv2d)
        else:
            assert all(gates.live(i) == 0 for i in cut)
            assert set(cut) <= gates.plan().silent


def test_min_channels_holds_for_surviving_groups_and_branches_may_still_die():
    hat = [torch.tensor([0.05, 0.1, 2.0, 3.0]), torch.tensor([0.05, 0.05, 0.06, 0.07])]
    res = BilinearResource(2)
    res.lin[:] = torch.tensor([1.0, 1.0])
    new = alternating_prox(hat, res, [0, 1], [4, 4], lr=1.0, lam=1.0, min_keep=3)
    # β = 1/8: group 0 keeps 2 on its own -> topped up to 3; group 1 dies entirely
    assert torch.count_nonzero(new[0]) == 3 and torch.count_nonzero(new[1]) == 0
    new = alternating_prox(hat, res, [0, 1], [4, 4], lr=1.0, lam=1.0, min_keep=3,
                           protected=[1])
    assert torch.count_nonzero(new[1]) == 3  # a protected group keeps min_keep


def test_max_death_share_keeps_groups_whose_death_would_take_most_of_the_network():
    from gdpseg.core import plan_flops, trace_groups
    from gdpseg.methods.gdp import GateSet
    from gdpseg.methods.gdp.gates import death_shares
    from gdpseg.models import DeepLabV3Plus

    torch.manual_seed(0)
    net = DeepLabV3Plus(num_classes=5, depth=18, output_stride=32, rates=(1, 2, 3),
                        aspp_channels=16, low_level_proj=8).eval()
    groups = trace_groups(net, (torch.randn(1, 3, 64, 64),))
    shares = death_shares(groups)
    trunk = next(i for i, g in enumerate(groups.groups) if g.name.startswith('backbone.layer2.0'
                                                                            '.conv2'))
    assert trunk not in groups.cut_groups()  # the low-level branch still connects in and out
    # the share is what the export of that group's death loses
    gates = GateSet(groups)
    with torch.no_grad():
        gates.alphas[trunk].zero_()
    lost = 1 - plan_flops(groups, gates.plan()) / groups.full_flops()
    assert shares[trunk] == pytest.approx(lost) and shares[trunk] > 0.2
    for limit, survives in ((None, False), (0.2, True)):
        gates = GateSet(groups, max_death_share=limit)
        gates.prox_step(lr=1.0, lam=1e6)  # a step that zeroes everything it may
        assert (gates.live(trunk) > 0) == survives
        small = [i for i, s in shares.items() if s < 0.2 and i not in groups.cut_groups()]
        # they all die but the fewest that keep the output a function of the input
        dead = {i for i, g in enumerate(groups.groups) if g.prunable and not gates.live(i)}
        kept = [i for i in small if gates.live(i)]
        assert groups.connects(dead) and len(kept) < len(small) / 4
        assert all(not groups.connects(dead | {i}) for i in kept)
    with pytest.raises(ValueError, match='max_death_share'):
        GateSet(groups, max_death_share=0)


def test_tempered_thresholds_keep_the_total_and_flatten_the_cost_ordering():
    """cost_exponent p: β_l ∝ c_l^p with Σ n_l β_l kept; p = 0 thresholds every group alike,
    p = 1 is the paper's step exactly."""
    res = _random_resource(3, 11)
    sizes = [3, 2, 4]
    hat = [torch.full((s,), 0.8) for s in sizes]  # equal α̂: only the thresholds differ
    lr, lam = 0.5, 3.0
    coef = res.grad([float(s) for s in sizes])
    assert len(set(round(float(c), 6) for c in coef)) == 3  # the costs differ per group
    paper = alternating_prox(hat, res, [0, 1, 2], sizes, lr, lam)
    assert all(torch.equal(a, b) for a, b in zip(
        paper, alternating_prox(hat, res, [0, 1, 2], sizes, lr, lam, cost_exponent=1.0)))
    flat = alternating_prox(hat, res, [0, 1, 2], sizes, lr, lam, cost_exponent=0.0)
    betas = [0.8 - float(f[0]) for f in flat]  # α̂ − α = β where α stays positive
    assert all(f[0] > 0 for f in flat)
    assert max(betas) - min(betas) < 1e-6
    paper_betas = [0.8 - float(p[0]) for p in paper]
    mass = sum(n * b for n, b in zip(sizes, paper_betas))
    assert abs(sum(n * b for n, b in zip(sizes, betas)) - mass) < 1e-6
    half = alternating_prox(hat, res, [0, 1, 2], sizes, lr, lam, cost_exponent=0.5)
    half_betas = [0.8 - float(h[0]) for h in half]
    ratios = [h / p for h, p in zip(half_betas, paper_betas)]
    # the costliest group's threshold drops, the cheapest one's rises
    order = sorted(range(3), key=lambda i: float(coef[i]))
    assert ratios[order[0]] > 1 > ratios[order[-1]]
    assert abs(sum(n * b for n, b in zip(sizes, half_betas)) - mass) < 1e-6

