"""Grouped convs reading channels that are not whole conv groups (ShuffleNetV1: after a
concatenation and after a channel shuffle) are pruned within their conv groups: the same
channels of every conv group, so every conv group keeps as many."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from gdpseg.core import export_difference, plan_flops, prune, trace_groups
from gdpseg.core.verify import random_plan
from gdpseg.evaluation import count_conv_linear_flops


def shuffle(x, groups):
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class Unit(nn.Module):
    """mmpretrain's ShuffleUnit: grouped 1x1, depthwise 3x3, shuffle, grouped 1x1; residual
    (stride 1) or concatenation with the pooled input (stride 2)."""

    def __init__(self, cin, cout, groups=3, concat=False, first=False):
        super().__init__()
        mid, self.groups, self.concat = cout // 4, groups, concat
        if concat:
            cout -= cin
        self.compress = nn.Conv2d(cin, mid, 1, groups=1 if first else groups, bias=False)
        self.dw = nn.Conv2d(mid, mid, 3, stride=2 if concat else 1, padding=1, groups=mid,
                            bias=False)
        self.expand = nn.Conv2d(mid, cout, 1, groups=groups, bias=False)
        self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(mid), nn.BatchNorm2d(mid), \
            nn.BatchNorm2d(cout)

    def forward(self, x):
        out = self.bn2(self.dw(F.relu(self.bn1(self.compress(x)))))
        out = self.bn3(self.expand(shuffle(out, self.groups)))
        if self.concat:
            return torch.cat((F.avg_pool2d(x, 3, 2, 1), F.relu(out)), 1)
        return F.relu(x + out)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 12, 3, padding=1)
        self.u1 = Unit(12, 48, concat=True, first=True)
        self.u2 = Unit(48, 48)
        self.head = nn.Linear(48, 5)

    def forward(self, x):
        return self.head(self.u2(self.u1(self.stem(x))).mean((2, 3)))


def test_grouped_convs_on_shuffled_and_concatenated_channels_prune_within_their_groups():
    torch.manual_seed(0)
    net = Net().eval()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    x = torch.randn(2, 3, 16, 16)
    groups = trace_groups(net, (x,))
    kinds = {n: r.kind for n, r in groups.graph.modules.items()}
    # the 1x1 convs reading the concatenation and the shuffled channels
    assert kinds['u2.compress'] == kinds['u1.expand'] == kinds['u2.expand'] == 'grouped_within'
    stream = next(g for g in groups.groups if 'stem' in g.producers)
    assert stream.prunable  # the stream between the units, tied within the conv groups
    assert {'u1.expand', 'u2.expand'} <= set(stream.producers)
    bottleneck = next(g for g in groups.groups if 'u2.compress' in g.producers)
    assert not bottleneck.prunable  # read after the shuffle in runs of 4 of 3 repeats
    assert any('not whole conv groups' in r for r in bottleneck.reasons)
    narrowed = 0
    for seed in range(4):
        plan = random_plan(groups, seed)
        assert export_difference(groups, plan, (x,)) < 1e-5
        pruned = prune(net, groups, plan)
        assert plan_flops(groups, plan) == count_conv_linear_flops(pruned, (x,))
        kept = len(plan.keep[groups.groups.index(stream)])
        if kept < stream.size:  # every conv group of u2.expand keeps as many channels
            assert pruned.u2.expand.groups == 3
            assert pruned.u2.expand.out_channels < 48
            narrowed += 1
    assert narrowed
