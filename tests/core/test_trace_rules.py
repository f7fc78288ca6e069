"""Each trace rule on its own: which channels a small network ties together or fixes."""
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from gdpseg.core import PruningPlan, UnsupportedOpError, export_difference, prune, trace_groups
from gdpseg.core.verify import random_plan


class Net(nn.Module):
    """``a`` and ``b`` produce channels, ``body`` combines them, ``c`` (and ``d``) read them."""

    def __init__(self, body, ca=4, cb=4, cin_c=8, cout_c=3, linear=False, extra=None):
        super().__init__()
        self.a = nn.Conv2d(3, ca, 1)
        self.b = nn.Conv2d(3, cb, 1)
        self.c = nn.Linear(cin_c, cout_c) if linear else nn.Conv2d(cin_c, cout_c, 1)
        self.d = extra
        self.body = body

    def forward(self, x):
        return self.body(self, x)


def groups_of(net, shape=(2, 3, 4, 4), strict=False):
    return trace_groups(net, (torch.randn(*shape),), strict=strict)


def by_producer(groups):
    return {name: g for g in groups.groups for name in g.producers}


def test_cat_along_channels_makes_segments_of_both_groups():
    groups = groups_of(Net(lambda m, x: m.c(torch.cat([m.a(x), m.b(x)], 1))))
    g = by_producer(groups)
    assert g['a'] is not g['b'] and g['a'].prunable and g['b'].prunable
    assert g['a'].consumers == g['b'].consumers == ['c']
    rec = groups.graph.modules['c']
    assert [groups.group_of(s).name for s in rec.in_segs] == ['a', 'b']


def test_cat_along_another_axis_ties_the_channels_of_both_parts():
    net = Net(lambda m, x: m.c(torch.cat([m.a(x), m.b(x)], 2)), cin_c=4)
    g = by_producer(groups_of(net))
    assert g['a'] is g['b'] and g['a'].prunable


def test_stack_ties_the_channels_and_moves_the_axis():
    def body(m, x):
        y = torch.stack([m.a(x), m.b(x)], 0)  # [2, N, C, H, W]: channels now on axis 2
        return m.c(y.sum(0))

    g = by_producer(groups_of(Net(body, cin_c=4)))
    assert g['a'] is g['b'] and g['a'].prunable


def test_chunk_inside_groups_splits_them_into_sub_groups_pruned_alike():
    def body(m, x):
        za, zb = torch.cat([m.a(x), m.b(x)], 1).chunk(2, 1)  # 4 + 4 of a's 6 and b's 2
        return m.c(torch.cat([zb, za], 1))

    net = Net(body, ca=6, cb=2, cin_c=8)
    groups = groups_of(net)
    # a splits into a[0:2], a[2:4], a[4:6]: chunk's halves are (a[0:2], a[2:4]) and
    # (a[4:6], b), tied one to one, so both halves keep the same width after any pruning
    a_parts = groups.graph.modules['a'].out_segs
    assert [groups.graph.sizes[s.node] for s in a_parts] == [2, 2, 2]
    assert groups.group_index(a_parts[0]) == groups.group_index(a_parts[2])
    assert groups.group_of(a_parts[1]) is groups.by_name('a (+1 coupled)')
    assert all(g.prunable for g in groups.groups if g.name.startswith('a'))
    x = torch.randn(2, 3, 4, 4)
    for seed in range(3):
        assert export_difference(groups, random_plan(groups, seed), (x,)) < 1e-5

    def constant(m, x):
        ya, yb = torch.cat([m.a(x), m.b(x)], 1).split([4, 4], 1)
        return m.c(torch.cat([yb, ya], 1))

    with pytest.warns(UserWarning, match=r'split into constant sizes \[4, 4\]'):
        g = by_producer(groups_of(Net(constant, cin_c=8)))
    assert not g['a'].prunable and not g['b'].prunable

    def halves(m, x):
        za, zb = torch.cat([m.a(x), m.b(x)], 1).chunk(2, 1)
        return m.c(torch.cat([zb, za], 1))

    # chunk(2) splits at half the width: a and b stay equal only if pruned alike (one group)
    g = by_producer(groups_of(Net(halves, cin_c=8)))
    assert g['a'].prunable and g['a'] is g['b']


class MixedConv(nn.Module):
    """timm's MixedConv2d pattern: the split sizes are an attribute of the module."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 6, 1)
        self.splits = [4, 6]
        self.dw = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1, groups=4),
                                 nn.Conv2d(6, 6, 5, padding=2, groups=6)])
        self.c = nn.Conv2d(10, 3, 1)

    def forward(self, x):
        parts = torch.split(torch.cat([self.a(x), self.b(x)], 1), self.splits, 1)
        return self.c(torch.cat([dw(p) for dw, p in zip(self.dw, parts)], 1))


def test_split_sizes_held_by_the_module_are_rewritten_on_export():
    torch.manual_seed(0)
    net = MixedConv().eval()
    x = torch.randn(2, 3, 8, 8)
    groups = trace_groups(net, (x,))
    assert groups.by_name('a').prunable and groups.by_name('b').prunable
    plan = PruningPlan([torch.tensor([0, 2]) if g.prunable else torch.arange(g.size)
                        for g in groups.groups])
    pruned = prune(net, groups, plan)
    assert pruned.splits == [2, 2] and net.splits == [4, 6]
    assert export_difference(groups, plan, (x,)) < 1e-6


def test_split_into_constant_sizes_fixes_the_group():
    def body(m, x):
        y1, y2 = m.a(x).split([1, 3], 1)
        return m.c(torch.cat([y2, y1], 1))

    with pytest.warns(UserWarning, match=r'split into constant sizes \[1, 3\]'):
        g = by_producer(groups_of(Net(body, cin_c=4)))
    assert not g['a'].prunable
    with pytest.raises(UnsupportedOpError, match='split'):
        groups_of(Net(body, cin_c=4), strict=True)


def test_getitem_over_other_axes_keeps_the_channels_slicing_them_fixes_them():
    g = by_producer(groups_of(Net(lambda m, x: m.c(m.a(x)[:, :, 1:, ::2]), cin_c=4)))
    assert g['a'].prunable
    g = by_producer(groups_of(Net(lambda m, x: m.c(m.a(x)[..., None][..., 0]), cin_c=4)))
    assert g['a'].prunable
    with pytest.warns(UserWarning, match='slicing of the channel axis with a step'):
        g = by_producer(groups_of(Net(lambda m, x: m.c(m.a(x)[:, ::2]), cin_c=2)))
    assert not g['a'].prunable


def test_constant_channel_slices_pin_what_the_constants_describe():
    x = torch.randn(2, 3, 4, 4)

    def parts(body, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter('error')  # the export check at trace time must agree
            groups = groups_of(Net(body, **kw))
        return groups, [groups.group_of(s) for s in groups.graph.modules['a'].out_segs]

    # x[:, :2] of 6 channels: the 2 taken are pinned (their count is a constant), the rest free
    groups, (head, tail) = parts(lambda m, x: m.c(m.a(x)[:, :2]) + m.d(m.a(x)), ca=6, cin_c=2,
                                 extra=nn.Conv2d(6, 3, 1))
    assert not head.prunable and 'by constants' in head.reasons[0] and tail.prunable
    # x[:, 2:] (DPN's split): the offset is pinned, the open end follows pruning
    groups, (head, tail) = parts(lambda m, x: m.c(m.a(x)[:, 2:]) + m.d(m.a(x)), ca=6, cin_c=4,
                                 extra=nn.Conv2d(6, 3, 1))
    assert not head.prunable and tail.prunable
    # x[:, :k] with k at least the width (GhostNet's out[:, :oup]) is the whole axis, always
    groups, (whole,) = parts(lambda m, x: m.c(m.a(x)[:, :9]), ca=6, cin_c=6)
    assert whole.prunable
    for seed in range(3):
        assert export_difference(groups, random_plan(groups, seed), (x,)) < 1e-5


def test_permute_and_transpose_move_the_channel_axis_to_a_linear_layer():
    net = Net(lambda m, x: m.c(m.a(x).permute(0, 2, 3, 1)), linear=True, cin_c=4)
    groups = groups_of(net)
    assert by_producer(groups)['a'].prunable
    assert groups.group_of(groups.graph.modules['c'].in_segs[0]).name == 'a'
    net = Net(lambda m, x: m.c(m.a(x).transpose(1, 2).transpose(2, 3)), linear=True, cin_c=4)
    assert by_producer(groups_of(net))['a'].prunable  # channels 1 -> 2 -> 3 (last)
    net = Net(lambda m, x: m.c(m.a(x).transpose(1, 2)), linear=True, cin_c=4)  # W=4 last
    with pytest.warns(UserWarning, match='linear over an axis other than the tracked channels'):
        assert not by_producer(groups_of(net))['a'].prunable


def test_reshape_merging_channels_repeats_them_splitting_them_ties_the_runs():
    net = Net(lambda m, x: m.c(m.a(x).reshape(x.shape[0], -1)), linear=True, cin_c=64)
    groups = groups_of(net)
    rec = groups.graph.modules['c']
    assert by_producer(groups)['a'].prunable and rec.in_segs[0].expand == 16  # 4x4 positions
    net = Net(lambda m, x: m.c(m.a(x).flatten(1)), linear=True, cin_c=64)
    assert groups_of(net).graph.modules['c'].in_segs[0].expand == 16

    def radix(m, x):  # split attention: (n, radix, C / radix, h, w) from the tensor's width
        y = m.a(x)
        return m.c(y.view(y.shape[0], 2, y.shape[1] // 2, *y.shape[2:]).sum(1))

    assert by_producer(groups_of(Net(radix, cin_c=2)))['a'].prunable
    # the same split by constants cannot follow pruning: the export check at trace time sees
    # the difference and fixes the group
    net = Net(lambda m, x: m.c(m.a(x).view(2, 2, 2, 4, 4).sum(1)), cin_c=2)
    with pytest.warns(UserWarning, match='changes what the export computes'):
        assert not by_producer(groups_of(net))['a'].prunable


def test_residual_add_and_broadcast_multiply_tie_or_keep_groups():
    g = by_producer(groups_of(Net(lambda m, x: m.c(m.a(x) + m.b(x)), cin_c=4)))
    assert g['a'] is g['b'] and g['a'].prunable
    # a one-channel attention map broadcast over a's channels leaves them alone
    attention = Net(lambda m, x: m.c(m.a(x) * torch.sigmoid(m.b(x))), cb=1, cin_c=4)
    g = by_producer(groups_of(attention))
    assert g['a'].prunable and g['a'] is not g['b']


def test_mean_over_space_keeps_mean_over_channels_fixes():
    g = by_producer(groups_of(Net(lambda m, x: m.c(m.a(x).mean((2, 3), keepdim=True)),
                                  cin_c=4)))
    assert g['a'].prunable
    with pytest.warns(UserWarning, match='mean over the channel axis'):
        g = by_producer(groups_of(Net(lambda m, x: m.c(m.a(x) * m.a(x).mean(1, True)),
                                      cin_c=4)))
    assert not g['a'].prunable


def test_softmax_over_channels_and_channel_padding_fix_the_group():
    with pytest.warns(UserWarning, match='softmax over the channel axis'):
        g = by_producer(groups_of(Net(lambda m, x: m.c(F.softmax(m.a(x), 1)), cin_c=4)))
    assert not g['a'].prunable
    g = by_producer(groups_of(Net(lambda m, x: m.c(F.softmax(m.a(x), -1)), cin_c=4)))
    assert g['a'].prunable
    with pytest.warns(UserWarning, match='padding of the channel axis'):
        g = by_producer(groups_of(Net(lambda m, x: m.c(F.pad(m.a(x), (0, 0, 0, 0, 1, 1))),
                                      cin_c=6)))
    assert not g['a'].prunable
    g = by_producer(groups_of(Net(lambda m, x: m.c(F.pad(m.a(x), (1, 1, 1, 1))), cin_c=4)))
    assert g['a'].prunable


def test_expand_of_a_one_channel_map_and_pooling_follow_the_channels():
    def body(m, x):
        y = F.max_pool2d(F.adaptive_avg_pool2d(m.a(x), 2), 2)
        return m.c(y.expand(-1, -1, 3, 3))

    g = by_producer(groups_of(Net(body, cin_c=4)))
    assert g['a'].prunable


def test_unknown_op_on_tracked_channels_is_reported_and_fixed():
    with pytest.warns(UserWarning, match='cumsum'):
        g = by_producer(groups_of(Net(lambda m, x: m.c(m.a(x).cumsum(1)), cin_c=4)))
    assert not g['a'].prunable
    assert any('cumsum' in r for r in g['a'].reasons)


class LayerScale(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gamma = nn.Parameter(torch.rand(c) + 0.5)

    def forward(self, x):
        return x * self.gamma.view(1, -1, 1, 1)


def test_layer_scale_is_a_member_sliced_with_its_group():
    class Net2(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.ls, self.c = nn.Conv2d(3, 6, 1), LayerScale(6), nn.Conv2d(6, 2, 1)
            self.bias = nn.Parameter(torch.rand(1, 6, 1, 1))  # a free per-channel bias

        def forward(self, x):
            return self.c(self.ls(self.a(x)) + self.bias)

    torch.manual_seed(0)
    net = Net2().eval()
    x = torch.randn(2, 3, 4, 4)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        groups = trace_groups(net, (x,))
    g = groups.by_name('a')
    assert g.prunable and {'ls', ''} <= set(g.members)
    plan = PruningPlan([torch.tensor([1, 4, 5]) if grp is g else torch.arange(grp.size)
                        for grp in groups.groups])
    pruned = prune(net, groups, plan)
    assert torch.equal(pruned.ls.gamma, net.ls.gamma[[1, 4, 5]])
    assert pruned.bias.shape == (1, 3, 1, 1)
    assert export_difference(groups, plan, (x,)) < 1e-6


def test_channel_shuffle_ties_the_shuffled_runs_and_exports_exactly():
    def body(m, x):  # ShuffleNetV2's unit: concat, shuffle(2), chunk(2)
        y = torch.cat([m.a(x), m.b(x)], 1)
        n, c, h, w = y.shape
        y = y.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)
        left, right = y.chunk(2, 1)
        return m.c(left) + m.d(right)

    net = Net(body, ca=4, cb=4, cin_c=4, extra=nn.Conv2d(4, 3, 1)).eval()
    x = torch.randn(2, 3, 4, 4)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        groups = groups_of(net)
    g = by_producer(groups)
    assert g['a'].prunable and g['b'].prunable
    for seed in range(3):
        assert export_difference(groups, random_plan(groups, seed), (x,)) < 1e-5
