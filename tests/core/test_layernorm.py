"""LayerNorm over a group's channels: prunable, because the gated and the masked model normalise
over the live channels alone, and the export (a LayerNorm over the kept channels) computes the
same function."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from gdpseg.core import trace_groups
from gdpseg.core.verify import export_difference, random_plan
from gdpseg.evaluation import count_conv_linear_flops
from gdpseg.methods.gdp import attach_gates

from .helpers import check_export, randomize_gates


class LayerNorm2d(nn.LayerNorm):
    """Channels-first LayerNorm that permutes inside (timm's and torchvision's LayerNorm2d)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias,
                            self.eps).permute(0, 3, 1, 2)


class Block(nn.Module):
    """A ConvNeXt-style stem and block: LayerNorm2d on the stream, a channels-last
    LayerNorm + MLP branch added back to it."""

    def __init__(self):
        super().__init__()
        self.stem, self.stem_norm = nn.Conv2d(3, 12, 3, padding=1), LayerNorm2d(12)
        self.dw = nn.Conv2d(12, 12, 3, padding=1, groups=12)
        self.norm = nn.LayerNorm(12)
        self.fc1, self.fc2 = nn.Linear(12, 24), nn.Linear(24, 12)
        self.head = nn.Conv2d(12, 5, 1)
        with torch.no_grad():  # affine parameters that differ between channels
            for n in (self.stem_norm, self.norm):
                n.weight.uniform_(0.5, 1.5)
                n.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        x = self.stem_norm(self.stem(x))
        y = self.norm(self.dw(x).permute(0, 2, 3, 1))
        x = x + self.fc2(F.gelu(self.fc1(y))).permute(0, 3, 1, 2)
        return self.head(x)


def _stream(groups):
    return next(g for g in groups.groups if 'stem' in g.producers)


def test_layernorm_groups_are_prunable_and_export_exactly():
    torch.manual_seed(0)
    model, x = Block().eval(), torch.randn(2, 3, 8, 8)
    groups = trace_groups(model, (x,))
    stream = _stream(groups)
    assert stream.prunable, stream.reasons
    assert {'stem_norm', 'norm'} <= set(stream.members)
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))
    for seed in range(4):  # random kept channels and factors, some plans with dead groups
        assert export_difference(groups, random_plan(groups, seed), (x,)) < 1e-5
    # (without the live hooks the trace-time check finds the export differs and fixes it)
    from gdpseg.core import prune
    plan = random_plan(groups, 0, dead=0.0)
    pruned = prune(model, groups, plan)
    assert pruned.norm.normalized_shape == (len(plan.keep[groups.groups.index(stream)]),)


def test_gdp_gates_on_a_layernorm_group_give_the_export():
    torch.manual_seed(1)
    model = Block().eval()
    gates = attach_gates(model, (torch.randn(2, 3, 8, 8),))
    assert _stream(gates.channel_groups).prunable
    for seed in range(3):
        randomize_gates(gates, seed)
        assert gates.live(_stream(gates.channel_groups)) < 12
        pruned = check_export(model, gates, (2, 3, 8, 8), seed=seed)
        assert pruned.stem_norm.weight.shape[0] == gates.live(_stream(gates.channel_groups))
    gates.detach()  # without the gates every channel is live: the plain LayerNorm again
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        plain = Block().eval()
        plain.load_state_dict(model.state_dict())
        torch.testing.assert_close(model(x), plain(x))


def test_layernorm_over_more_than_the_channels_stays_fixed():
    class Wide(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.norm, self.b = nn.Conv2d(3, 6, 1), nn.LayerNorm([6, 4, 4]), \
                nn.Conv2d(6, 2, 1)

        def forward(self, x):
            return self.b(self.norm(self.a(x)))

    with pytest.warns(UserWarning, match='layer_norm over the channels'):
        groups = trace_groups(Wide().eval(), (torch.randn(2, 3, 4, 4),))
    assert not next(g for g in groups.groups if 'a' in g.producers).prunable


@pytest.mark.slow
def test_timm_convnext_stream_is_prunable_and_exact():
    timm = pytest.importorskip('timm')
    torch.manual_seed(0)
    model, x = timm.create_model('convnext_atto', num_classes=10).eval(), torch.randn(2, 3, 64, 64)
    groups = trace_groups(model, (x,))
    streams = [g for g in groups.groups if any('norm' in m for m in g.members)]
    assert streams and all(g.prunable for g in streams), [g.reasons for g in streams]
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))
    for seed in range(2):
        assert export_difference(groups, random_plan(groups, seed), (x,)) < 1e-4
