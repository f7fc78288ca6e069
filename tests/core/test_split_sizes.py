"""``split`` by one size held by the calling module (Res2Net's ``width``): its parts are pruned
alike and the export rewrites the size; a size the module does not hold, or holds under two
names, keeps the channels fixed."""
import pytest
import torch
import torch.nn as nn

from gdpseg.core import plan_flops, prune, trace_groups
from gdpseg.core.verify import export_difference, random_plan
from gdpseg.evaluation import count_conv_linear_flops
from gdpseg.methods.gdp import attach_gates

from .helpers import check_export, randomize_gates


class Res2Block(nn.Module):
    def __init__(self, width=6, scale=3, other=None):
        super().__init__()
        self.width, self.scale = width, scale
        if other is not None:
            self.other = other  # a second attribute with the same value: ambiguous
        self.conv1 = nn.Conv2d(8, width * scale, 1)
        self.convs = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1)
                                   for _ in range(scale - 1))
        self.conv3 = nn.Conv2d(width * scale, 8, 1)

    def split(self, out):
        return torch.split(out, self.width, 1)

    def forward(self, x):
        spx = self.split(torch.relu(self.conv1(x)))
        outs, sp = [], None
        for i, conv in enumerate(self.convs):
            sp = spx[i] if i == 0 else sp + spx[i]
            sp = torch.relu(conv(sp))
            outs.append(sp)
        return x + self.conv3(torch.cat(outs + [spx[-1]], 1))


class Net(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.stem, self.block, self.head = nn.Conv2d(3, 8, 3, padding=1), Res2Block(**kw), \
            nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.head(self.block(self.stem(x)))


def _split_group(groups):
    return next(g for g in groups.groups if 'block.conv1' in g.producers)


def test_parts_of_a_held_size_are_pruned_alike_and_the_size_rewritten():
    torch.manual_seed(0)
    model, x = Net().eval(), torch.randn(2, 3, 8, 8)
    groups = trace_groups(model, (x,))
    g = _split_group(groups)
    assert g.prunable and g.size == 6  # one group of width channels, three times in conv1
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))
    for seed in range(3):
        plan = random_plan(groups, seed, dead=0.0)
        assert export_difference(groups, plan, (x,)) < 1e-5
        pruned = prune(model, groups, plan)
        kept = len(plan.keep[groups.groups.index(g)])
        assert pruned.block.width == kept and pruned.block.conv1.out_channels == 3 * kept
        assert model.block.width == 6  # the model itself is untouched


def test_gdp_gates_on_split_parts_give_the_export():
    torch.manual_seed(1)
    model = Net().eval()
    gates = attach_gates(model, (torch.randn(2, 3, 8, 8),))
    assert _split_group(gates.channel_groups).prunable
    for seed in range(2):
        randomize_gates(gates, seed)
        check_export(model, gates, (2, 3, 8, 8), seed=seed)


def test_a_size_held_twice_or_computed_stays_fixed():
    x = torch.randn(2, 3, 8, 8)
    with pytest.warns(UserWarning, match='split into constant sizes'):
        groups = trace_groups(Net(other=6).eval(), (x,))  # width and other are both 6
    assert not _split_group(groups).prunable
    # a literal 6 is the same small-int object as width = 6, so the trace takes it for the
    # attribute; the export would not follow the literal, and the check at trace time fixes it
    model = Net().eval()
    model.block.split = lambda out: torch.split(out, 6, 1)
    with pytest.warns(UserWarning, match='export'):
        groups = trace_groups(model, (x,))
    assert not _split_group(groups).prunable


class CSPStage(nn.Module):
    """timm's CrossStage: ``x.split(self.expand_chs // 2, 1)``, a size computed from the
    width the module holds."""

    def __init__(self, twin=False):
        super().__init__()
        self.expand_chs = 16
        if twin:
            self.other_chs = 16  # two attributes hold the width: no guess
        self.conv_exp = nn.Conv2d(8, 16, 1)
        self.block = nn.Conv2d(8, 8, 3, padding=1)
        self.conv_transition = nn.Conv2d(16, 8, 1)

    def forward(self, x):
        xs, xb = torch.relu(self.conv_exp(x)).split(self.expand_chs // 2, dim=1)
        return self.conv_transition(torch.cat([xs, torch.relu(self.block(xb))], 1))


def test_a_split_by_half_of_a_held_width_rewrites_the_width():
    torch.manual_seed(0)
    model, x = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), CSPStage()).eval(), \
        torch.randn(2, 3, 8, 8)
    groups = trace_groups(model, (x,))
    g = next(g for g in groups.groups if '1.conv_exp' in g.producers)
    assert g.prunable and g.size == 8  # both halves pruned alike
    for seed in range(3):
        plan = random_plan(groups, seed, dead=0.0)
        assert export_difference(groups, plan, (x,)) < 1e-5
        pruned = prune(model, groups, plan)
        assert pruned[1].expand_chs == 2 * len(plan.keep[groups.groups.index(g)])
    twin = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), CSPStage(twin=True)).eval()
    with pytest.warns(UserWarning, match='split into constant sizes'):
        groups = trace_groups(twin, (x,))
    assert not next(g for g in groups.groups if '1.conv_exp' in g.producers).prunable


class SelectiveKernel(nn.Module):
    """timm's SelectiveKernel: ``split(self.in_channels // self.num_paths)`` of its *input*,
    while ``out_channels`` holds the same number: the input's attribute is the one rewritten."""

    def __init__(self, channels=8):
        super().__init__()
        self.in_channels = self.out_channels = channels
        self.num_paths = 2
        self.paths = nn.ModuleList([nn.Conv2d(channels // 2, channels, 3, padding=1)
                                    for _ in range(2)])

    def forward(self, x):
        parts = torch.split(x, self.in_channels // self.num_paths, 1)
        return sum(torch.relu(op(p)) for op, p in zip(self.paths, parts))


def test_a_split_of_the_input_rewrites_the_input_width_of_a_module_holding_it_twice():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), SelectiveKernel(),
                          nn.Conv2d(8, 4, 1)).eval()
    x = torch.randn(2, 3, 8, 8)
    groups = trace_groups(model, (x,))
    g = next(g for g in groups.groups if '0' in g.producers)
    assert g.prunable and g.size == 4  # the two paths' inputs pruned alike
    for seed in range(3):
        plan = random_plan(groups, seed, dead=0.0)
        assert export_difference(groups, plan, (x,)) < 1e-5
        pruned = prune(model, groups, plan)
        assert pruned[1].in_channels == 2 * len(plan.keep[groups.groups.index(g)])
        assert pruned[1].out_channels == 8  # not the input's width
        assert count_conv_linear_flops(pruned, (x,)) == plan_flops(groups, plan)
