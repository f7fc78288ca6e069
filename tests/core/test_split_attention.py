"""ResNeSt's split attention: a grouped conv whose conv groups (the radix) are split apart and
summed is pruned *within* its conv groups, and the radix softmax follows the channels."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from gdpseg.core import export_difference, plan_flops, prune, trace_groups
from gdpseg.core.verify import random_plan
from gdpseg.evaluation import count_conv_linear_flops
from gdpseg.methods.gdp import attach_gates

from .helpers import check_export, randomize_gates


class SplitAttention(nn.Module):
    """The computation of timm's ``SplitAttn`` (radix > 1, cardinality 1): a conv with
    ``groups=radix`` writes ``radix`` blocks of ``C`` channels, which are summed for the
    attention and re-weighted by a softmax over the radix."""

    def __init__(self, cin=8, channels=12, radix=2, inter=6, bias=False):
        super().__init__()
        self.radix = radix
        self.conv = nn.Conv2d(cin, channels * radix, 3, padding=1, groups=radix, bias=bias)
        self.bn0 = nn.BatchNorm2d(channels * radix)
        self.fc1, self.bn1 = nn.Conv2d(channels, inter, 1), nn.BatchNorm2d(inter)
        self.fc2 = nn.Conv2d(inter, channels * radix, 1)

    def forward(self, x):
        x = F.relu(self.bn0(self.conv(x)))
        B, RC, H, W = x.shape
        x = x.reshape((B, self.radix, RC // self.radix, H, W))
        gap = F.relu(self.bn1(self.fc1(x.sum(dim=1).mean((2, 3), keepdim=True))))
        attn = self.fc2(gap).view(B, 1, self.radix, -1).transpose(1, 2)  # (card, radix, C)
        attn = F.softmax(attn, dim=1).reshape(B, -1)
        return (x * attn.reshape((B, self.radix, RC // self.radix, 1, 1))).sum(dim=1)


class Block(nn.Module):
    """A ResNeSt bottleneck: 1x1 conv, split attention, 1x1 conv, residual, and a head."""

    def __init__(self, radix=2, bias=False):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.conv1, self.bn1 = nn.Conv2d(16, 8, 1), nn.BatchNorm2d(8)
        self.attn = SplitAttention(8, 12, radix, bias=bias)
        self.conv3, self.bn3 = nn.Conv2d(12, 16, 1), nn.BatchNorm2d(16)
        self.head = nn.Conv2d(16, 4, 1)

    def forward(self, x):
        x = self.stem(x)
        y = self.attn(F.relu(self.bn1(self.conv1(x))))
        return self.head(F.relu(x + self.bn3(self.conv3(y))))


def _randomized(net):
    torch.manual_seed(0)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    return net.eval()


@pytest.mark.parametrize('radix,bias', [(2, False), (4, True)])
def test_radix_conv_is_pruned_within_its_groups_exactly(radix, bias):
    net = _randomized(Block(radix, bias))
    x = torch.randn(2, 3, 8, 8)
    groups = trace_groups(net, (x,))
    rec = groups.graph.modules['attn.conv']
    assert rec.kind == 'grouped_within'
    # its output: one channel per channel of a radix block, written by fc2 too (the attention)
    out = next(g for g in groups.groups if 'attn.conv' in g.producers)
    assert out.prunable and out.size == 12 and 'attn.fc2' in out.producers
    inner = groups.by_name('conv1')  # its input: the same channels of every conv group
    assert inner.prunable and inner.size == 8 // radix and inner.consumers == ['attn.conv']
    assert all(g.prunable for g in groups.groups if g.name.startswith('attn.fc1'))
    for seed in range(4):
        plan = random_plan(groups, seed)
        assert export_difference(groups, plan, (x,)) < 1e-5
        pruned = prune(net, groups, plan)
        assert plan_flops(groups, plan) == count_conv_linear_flops(pruned, (x,))
        conv = pruned.attn.conv
        assert conv.groups == radix  # every conv group stays, each smaller
        assert conv.out_channels == radix * len(plan.keep[groups.groups.index(out)])


def test_gdp_gates_on_split_attention_export_exactly():
    net = _randomized(Block(2))
    gates = attach_gates(net, (torch.randn(1, 3, 8, 8),))
    randomize_gates(gates, seed=1, zero_frac=0.3)
    pruned = check_export(net, gates, (1, 3, 8, 8))
    assert pruned.attn.conv.in_channels < 8 or pruned.attn.conv.out_channels < 24


def test_within_prune_refuses_different_channels_per_conv_group():
    from gdpseg.core.layers import handler_of
    conv = nn.Conv2d(4, 6, 1, groups=2)
    with pytest.raises(RuntimeError, match='same input channels in every conv group'):
        handler_of('grouped_within').prune(conv, None, torch.tensor([0, 3]), None,
                                           torch.tensor([0, 3]))
