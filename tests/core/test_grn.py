"""Global Response Normalization (ConvNeXt-V2) on a group's channels: prunable, because the gated
and the masked model take its mean over the live channels alone; the export is exact."""
import pytest
import torch
import torch.nn as nn

from gdpseg.core import prune, trace_groups
from gdpseg.core.verify import export_difference, random_plan
from gdpseg.methods.gdp import attach_gates

from .helpers import check_export, randomize_gates


def _grn(channels_last):
    timm_grn = pytest.importorskip('timm.layers.grn')
    grn = timm_grn.GlobalResponseNorm(12, channels_last=channels_last)
    with torch.no_grad():  # zeros at init make GRN the identity: nothing would be tested
        grn.weight.uniform_(0.5, 1.5)
        grn.bias.uniform_(-0.5, 0.5)
    return grn


class Block(nn.Module):
    def __init__(self, channels_last=True):
        super().__init__()
        self.channels_last = channels_last
        self.a = nn.Conv2d(3, 12, 3, padding=1)
        self.grn = _grn(channels_last)
        self.b = nn.Conv2d(12, 4, 1)

    def forward(self, x):
        y = torch.relu(self.a(x))
        if self.channels_last:
            return self.b(self.grn(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
        return self.b(self.grn(y))


@pytest.mark.parametrize('channels_last', [True, False])
def test_grn_groups_are_prunable_and_export_exactly(channels_last):
    torch.manual_seed(0)
    model, x = Block(channels_last).eval(), torch.randn(2, 3, 8, 8)
    groups = trace_groups(model, (x,))
    g = next(g for g in groups.groups if 'a' in g.producers)
    assert g.prunable and 'grn' in g.members, g.reasons
    for seed in range(3):
        plan = random_plan(groups, seed, dead=0.0)
        assert export_difference(groups, plan, (x,)) < 1e-5
        pruned = prune(model, groups, plan)
        kept = len(plan.keep[groups.groups.index(g)])
        assert pruned.grn.weight.shape == pruned.grn.bias.shape == (kept,)


def test_mmpretrain_grn_with_its_data_format_argument():
    grn_module = pytest.importorskip('mmpretrain.models.backbones.convnext')

    class MMBlock(Block):
        def __init__(self):
            super().__init__()
            self.grn = grn_module.GRN(12)
            with torch.no_grad():
                self.grn.gamma.uniform_(0.5, 1.5)
                self.grn.beta.uniform_(-0.5, 0.5)

        def forward(self, x):
            y = torch.relu(self.a(x)).permute(0, 2, 3, 1)
            return self.b(self.grn(y, data_format='channel_last').permute(0, 3, 1, 2))

    torch.manual_seed(2)
    model, x = MMBlock().eval(), torch.randn(2, 3, 8, 8)
    groups = trace_groups(model, (x,))
    g = next(g for g in groups.groups if 'a' in g.producers)
    assert g.prunable and 'grn' in g.members, g.reasons
    plan = random_plan(groups, 0, dead=0.0)
    assert export_difference(groups, plan, (x,)) < 1e-5
    assert prune(model, groups, plan).grn.gamma.shape == (len(plan.keep[groups.groups.index(g)]),)


def test_gdp_gates_on_a_grn_group_give_the_export():
    torch.manual_seed(1)
    model = Block().eval()
    gates = attach_gates(model, (torch.randn(2, 3, 8, 8),))
    for seed in range(2):
        randomize_gates(gates, seed)
        check_export(model, gates, (2, 3, 8, 8), seed=seed)
