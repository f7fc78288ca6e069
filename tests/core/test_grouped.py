"""Layers pruned by blocks of channels: grouped convs by conv groups, GroupNorm by norm groups."""
import pytest
import torch
import torch.nn as nn

from gdpseg.core import export_difference, plan_flops, prune, trace_groups
from gdpseg.core.verify import random_plan
from gdpseg.evaluation import count_conv_linear_flops


def _check(net, shape=(2, 3, 8, 8)):
    """Groups of ``net``; random plans export exactly and count FLOPs as mmengine does."""
    torch.manual_seed(0)
    net = net.eval()
    x = torch.randn(*shape)
    groups = trace_groups(net, (x,))
    for seed in range(3):
        plan = random_plan(groups, seed)
        assert export_difference(groups, plan, (x,)) < 1e-5
        assert plan_flops(groups, plan) == count_conv_linear_flops(prune(net, groups, plan), (x,))
    return groups, x


class Bottleneck(nn.Module):
    """ResNeXt's bottleneck: 1x1 conv, grouped 3x3 conv, 1x1 conv, residual."""

    def __init__(self, groups=4, mid=16, out_mid=16):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 1)
        self.conv1, self.bn1 = nn.Conv2d(8, mid, 1), nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, out_mid, 3, padding=1, groups=groups)
        self.bn2 = nn.BatchNorm2d(out_mid)
        self.conv3 = nn.Conv2d(out_mid, 8, 1)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        x = self.stem(x)
        y = torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))
        return self.head(torch.relu(x + self.conv3(y)))


@pytest.mark.parametrize('groups,mid,out_mid', [(4, 16, 16), (4, 8, 16), (8, 8, 16)])
def test_grouped_conv_is_pruned_by_whole_conv_groups(groups, mid, out_mid):
    # (8, 8, 16): a depthwise conv with a channel multiplier of 2
    g, _ = _check(Bottleneck(groups, mid, out_mid))
    inner = g.by_name('conv1')
    assert inner.prunable and inner.size == groups  # one channel per conv group
    assert 'conv2' in inner.members and inner.consumers == ['conv3']
    assert g.graph.modules['conv1'].out_segs[0].expand == mid // groups


def test_pruned_grouped_conv_keeps_its_layout():
    torch.manual_seed(0)
    net = Bottleneck().eval()
    groups = trace_groups(net, (torch.randn(1, 3, 8, 8),))
    inner = groups.groups.index(groups.by_name('conv1'))
    plan = random_plan(groups, 0)
    plan.keep[inner] = torch.tensor([1, 3])
    pruned = prune(net, groups, plan)
    assert pruned.conv2.groups == 2 and pruned.conv2.weight.shape == (8, 4, 3, 3)
    assert torch.equal(pruned.conv2.weight, net.conv2.weight[[4, 5, 6, 7, 12, 13, 14, 15]])
    assert pruned.conv1.out_channels == 8


def test_grouped_conv_cutting_a_concatenation_is_pruned_within_its_conv_groups():
    class Cut(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 2, 1)
            self.g = nn.Conv2d(6, 6, 3, padding=1, groups=3)
            self.c = nn.Conv2d(6, 2, 1)

        def forward(self, x):
            return self.c(self.g(torch.cat([self.a(x), self.b(x)], 1)))

    # its conv groups [a0 a1] [a2 a3] [b0 b1] keep the same channels: a0 ~ a2 ~ b0, a1 ~ a3 ~ b1
    groups, _ = _check(Cut())
    assert groups.graph.modules['g'].kind == 'grouped_within'
    tied = [g for g in groups.groups if {'a', 'b'} <= set(g.producers)]
    assert len(tied) == 1 and tied[0].prunable and tied[0].size == 2
    assert groups.by_name('g').prunable  # its output, the same channels of every conv group


class GNNet(nn.Module):
    def __init__(self, affine=True):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3)
        self.gn = nn.GroupNorm(4, 8, affine=bool(affine))
        if affine == 'no bias':  # PoolFormerV2's GroupNorm1 keeps a weight and no bias
            self.gn.bias = None
        self.c2 = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        return self.c2(torch.relu(self.gn(self.c1(x))))


@pytest.mark.parametrize('affine', [True, False, 'no bias'])
def test_groupnorm_is_pruned_by_whole_norm_groups(affine):
    groups, x = _check(GNNet(affine))
    g = groups.by_name('c1')
    assert g.prunable and g.size == 4 and 'gn' in g.members
    plan = random_plan(groups, 0)
    plan.keep[groups.groups.index(g)] = torch.tensor([0, 2, 3])
    pruned = prune(groups.model, groups, plan)
    assert (pruned.gn.num_groups, pruned.gn.num_channels) == (3, 6)
    assert export_difference(groups, plan, (x,)) < 1e-5
