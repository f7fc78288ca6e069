"""Pruning plans without GDP, plan files, pluggable resources and layer handlers."""
import json

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from gdpseg.core import (BilinearResource, LayerHandler, PruningPlan, Resource, build_resource,
                         full_plan, handler_of, plan_flops, plan_params, prune, register_layer,
                         register_resource, resolve, trace_groups)
from gdpseg.core.layers import set_tensor, unregister_layer
from gdpseg.core.resource import RESOURCES
from gdpseg.evaluation import count_conv_linear_flops
from gdpseg.methods.gdp import attach_gates


def _zero_columns_reference(model, groups, plan):
    """The model with every removed channel's contribution dropped where it is read: what an
    exported plan without factors must compute (built without the export code)."""
    import copy

    ref = copy.deepcopy(model)
    modules = dict(ref.named_modules())
    for rec in groups.graph.modules.values():
        if not handler_of(rec.kind).consumer:
            continue
        offset, drop = 0, []
        for s in rec.in_segs:
            i = groups.group_index(s)
            kept = set(plan.keep[i].tolist())
            for c in range(groups.groups[i].size):
                if c not in kept:
                    drop.extend(range(offset + c * s.expand, offset + (c + 1) * s.expand))
            offset += groups.groups[i].size * s.expand
        if drop:
            w = modules[rec.name].weight
            dim = 0 if rec.transposed else 1
            with torch.no_grad():
                w.index_fill_(dim, torch.tensor(drop), 0.0)
    return ref


def _random_plan(groups, seed, drop=0.4, remove=()):
    g = torch.Generator().manual_seed(seed)
    keep = []
    for grp in groups.groups:
        if not grp.prunable:
            keep.append(torch.arange(grp.size))
        elif grp.name in remove:
            keep.append(torch.zeros(0, dtype=torch.long))
        else:
            mask = torch.rand(grp.size, generator=g) >= drop
            mask[torch.randint(grp.size, (1,), generator=g)] = True
            keep.append(torch.nonzero(mask).flatten())
    return PruningPlan(keep)


@pytest.mark.parametrize('remove', [(), ('layer1.0.conv1',)])
def test_a_plan_without_gates_exports_exactly_and_counts_exactly(remove):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=5).eval()
    x = torch.randn(2, 3, 32, 32)
    groups = trace_groups(model, (x,))
    plan = _random_plan(groups, 0, remove=remove)
    pruned = prune(model, groups, plan).eval()
    with torch.no_grad():
        ref = _zero_columns_reference(model, groups, plan).eval()(x)
        out = pruned(x)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4 * float(ref.abs().max()))
    assert plan_flops(groups, plan) == count_conv_linear_flops(pruned, (x,))
    assert plan_params(groups, plan) == sum(p.numel() for p in pruned.parameters())
    assert plan_flops(groups, plan) < groups.full_flops()
    if remove:  # the removed group's producer computes no convolution any more
        assert not isinstance(pruned.layer1[0].conv1, nn.Conv2d)
        assert 'layer1.0.conv1' in resolve(groups, plan).carriers


def test_plan_file_round_trip_rebuilds_the_export_from_weights(tmp_path):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=5).eval()
    x = torch.randn(1, 3, 32, 32)
    gates = attach_gates(model, (x,))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for grp, alpha in zip(gates.groups, gates.alphas):
            if grp.prunable:
                alpha.copy_(torch.rand(grp.size, generator=g) + 0.1)
                alpha[torch.rand(grp.size, generator=g) < 0.4] = 0
        gates.alpha(gates.channel_groups.by_name('layer2.0.conv1')).zero_()  # a dead branch
    plan = gates.plan()
    exported = prune(model, gates)
    (tmp_path / 'plan.json').write_text(json.dumps(plan.to_dict(gates.channel_groups)))
    torch.save(exported.state_dict(), tmp_path / 'w.pth')

    fresh = torchvision.models.resnet18(num_classes=5).eval()  # other weights, no gates
    groups = trace_groups(fresh, (x,))
    loaded = PruningPlan.from_dict(json.loads((tmp_path / 'plan.json').read_text()), groups)
    rebuilt = prune(fresh, groups, loaded)
    rebuilt.load_state_dict(torch.load(tmp_path / 'w.pth', weights_only=True), strict=True)
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(x), exported.eval()(x))

    data = plan.to_dict(gates.channel_groups)
    data['groups'][3]['size'] += 1
    with pytest.raises(ValueError, match='does not fit this model'):
        PruningPlan.from_dict(data, groups)
    data = plan.to_dict(gates.channel_groups)
    data['groups'][0]['keep'] = [0]  # the network input is fixed
    with pytest.raises(ValueError, match='fixed group'):
        PruningPlan.from_dict(data, groups)
    with pytest.raises(ValueError, match='not a gdpseg plan'):
        PruningPlan.from_dict({'groups': []}, groups)


def test_full_plan_changes_nothing_and_resolve_is_idempotent():
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(num_classes=5).eval()
    x = torch.randn(1, 3, 32, 32)
    groups = trace_groups(model, (x,))
    plan = resolve(groups, full_plan(groups))
    assert resolve(groups, plan) is plan and not plan.carriers
    with torch.no_grad():
        assert torch.equal(prune(model, groups, plan).eval()(x), model(x))


def test_resources_are_registered_and_chosen_by_name():
    model = torchvision.models.resnet18(num_classes=5).eval()
    x = torch.randn(1, 3, 32, 32)
    groups = trace_groups(model, (x,))
    sizes = [g.size for g in groups.groups]
    flops = build_resource('flops', groups)
    assert flops.value(sizes) == groups.full_flops() == count_conv_linear_flops(model, (x,))
    params = build_resource(dict(type='params'), groups)
    assert params.value(sizes) == sum(p.numel() for p in model.parameters())
    # the gradient is the coefficient of each width, the others held
    i = next(i for i, g in enumerate(groups.groups) if g.prunable)
    fewer = list(sizes)
    fewer[i] -= 1
    assert float(flops.diag[i]) == 0  # no layer reads and writes this group
    assert flops.value(sizes) - flops.value(fewer) == pytest.approx(float(flops.grad(sizes)[i]),
                                                                    rel=1e-12)
    with pytest.raises(KeyError, match='unknown resource'):
        build_resource('latency_of_my_phone', groups)

    class Channels(Resource):  # a resource of one's own: live channels of all groups
        def value(self, widths):
            return float(sum(widths))

        def grad(self, widths):
            return torch.ones(len(widths), dtype=torch.float64)

    register_resource('test_channels')(lambda groups: Channels())
    try:
        gates = attach_gates(model, (x,), resource='test_channels')
        with torch.no_grad():
            for grp, alpha in zip(gates.groups, gates.alphas):
                if grp.prunable:
                    alpha.copy_(torch.linspace(0.01, 1.0, grp.size))
        gates.prox_step(lr=1.0, lam=0.2 * sum(sizes))  # β = 0.2 for every channel alike
        for grp, alpha in zip(gates.groups, gates.alphas):
            if grp.prunable:
                expected = torch.clamp(torch.linspace(0.01, 1.0, grp.size) - 0.2, min=0)
                torch.testing.assert_close(alpha.detach(), expected)
    finally:
        RESOURCES.pop('test_channels')


def test_calls_record_shapes_kernel_stride_and_groups():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                        nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.Conv2d(8, 4, 1))
    groups = trace_groups(net, (torch.randn(2, 3, 16, 16),))
    first, dw, last = groups.graph.calls
    assert (first.kind, first.in_shape, first.out_shape) == ('conv', (2, 3, 16, 16),
                                                             (2, 8, 8, 8))
    assert (first.kernel, first.stride, first.padding, first.groups) == ((3, 3), (2, 2),
                                                                         (1, 1), 1)
    assert (dw.kind, dw.groups) == ('depthwise', 8) and last.kernel == (1, 1)


class OddGrouped(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.g = nn.Conv2d(8, 12, 3, groups=4, padding=1)
        self.b = nn.Conv2d(12, 4, 1)

    def forward(self, x):
        return self.b(F.relu(self.g(F.relu(self.a(x)))))


def test_grouped_convolutions_are_counted_exactly():
    x = torch.randn(1, 3, 7, 7)  # 49 positions x 9 taps: not a multiple of groups=4
    model = OddGrouped().eval()
    groups = trace_groups(model, (x,))
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))
    assert groups.group_of(groups.graph.modules['g'].in_segs[0]).prunable


class PReLUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 6, 3, padding=1)
        self.act = nn.PReLU(6)  # one slope per channel: channel-wise
        self.b = nn.Conv2d(6, 2, 1)

    def forward(self, x):
        return self.b(self.act(self.a(x)))


class ChannelwisePReLU(LayerHandler):
    """A handler of one's own: PReLU with a slope per channel is a member of its group."""

    kind = 'test_channelwise_prelu'
    functions = ('prelu',)

    def match(self, tracer, args, kwargs, out):
        return args[1].numel() == args[0].shape[1] and tracer.label(args[0]) is not None

    def trace(self, tracer, args, kwargs, out):
        lab = tracer.label(args[0])
        tracer.record_module(tracer.owner(args[1])[0], self.kind, in_segs=lab.segs)
        tracer.set_label(out, lab)

    def params(self, module, rec, cin, cout):
        return cin

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        set_tensor(module, 'weight', module.weight[in_idx])
        module.num_parameters = len(in_idx)


def test_a_new_layer_kind_is_one_handler():
    x = torch.randn(2, 3, 8, 8)
    with pytest.warns(UserWarning, match='prelu'):  # without a handler: kept
        assert not trace_groups(PReLUNet(), (x,)).groups[1].prunable
    register_layer(ChannelwisePReLU())
    try:
        with pytest.raises(KeyError, match='exists'):
            register_layer(ChannelwisePReLU())
        torch.manual_seed(0)
        model = PReLUNet().eval()
        groups = trace_groups(model, (x,))
        grp = groups.groups[1]
        assert grp.prunable and grp.members == ['act']
        plan = PruningPlan([torch.arange(g.size) if g is not grp else torch.tensor([0, 2, 5])
                            for g in groups.groups])
        pruned = prune(model, groups, plan).eval()
        with torch.no_grad():
            ref = _zero_columns_reference(model, groups, plan)(x)
            torch.testing.assert_close(pruned(x), ref)
        assert pruned.act.num_parameters == 3
        assert plan_params(groups, plan) == sum(p.numel() for p in pruned.parameters())
    finally:
        unregister_layer('test_channelwise_prelu')
    assert isinstance(BilinearResource(1), Resource)


class FlipNet(nn.Module):
    """A spatial shift between two convs: an op the trace has no rule for."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        return self.b(torch.flip(torch.relu(self.a(x)), dims=(3,)))


def test_a_new_op_rule_is_registered_from_outside_the_package():
    from gdpseg.core import register_rule, unregister_rule
    from gdpseg.core.rules import channelwise

    def flip(tracer, args, kwargs, out):  # channel-wise unless it flips the channel axis
        dims = kwargs.get('dims', args[1] if len(args) > 1 else None)
        dims = [dims] if isinstance(dims, int) else list(dims or [])
        if any(d in (1, -3) for d in dims) or not dims:
            tracer.unsupported('flip of the channel axis', [tracer.label(args[0])])
        else:
            channelwise(tracer, args, kwargs, out)

    x = torch.randn(2, 3, 8, 8)
    with pytest.warns(UserWarning, match='flip'):  # without a rule: kept
        assert not any(g.prunable and g.size == 8 for g in trace_groups(FlipNet(), (x,)).groups)
    register_rule('flip', flip)
    try:
        with pytest.raises(KeyError, match='have rules already'):
            register_rule('flip', flip)
        model = FlipNet().eval()
        groups = trace_groups(model, (x,))  # verify=True: a random plan's export is checked
        grp = next(g for g in groups.groups if g.size == 8)
        assert grp.prunable
        plan = PruningPlan([torch.arange(g.size) if g is not grp else torch.tensor([1, 4])
                            for g in groups.groups])
        with torch.no_grad():
            torch.testing.assert_close(prune(model, groups, plan).eval()(x),
                                       _zero_columns_reference(model, groups, plan)(x))
    finally:
        unregister_rule('flip')


class Attention(nn.Module):
    """A spatial self-attention: matmul of activations (counted by mmengine, never pruned)."""

    def __init__(self):
        super().__init__()
        self.a, self.q = nn.Conv2d(3, 8, 1), nn.Conv2d(8, 4, 1)
        self.out = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        f = self.a(x)
        q = self.q(f).flatten(2)  # n, 4, hw
        attn = torch.softmax(q.transpose(1, 2) @ q, -1)  # n, hw, hw
        return self.out(torch.bmm(f.flatten(2), attn).view_as(f))


def test_matrix_products_are_counted_and_fix_what_they_read():
    x = torch.randn(2, 3, 5, 5)
    model = Attention().eval()
    with pytest.warns(UserWarning, match='matmul|bmm'):
        groups = trace_groups(model, (x,))
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))
    assert not groups.by_name('q').prunable and not groups.by_name('a').prunable
