"""A ViT's embedding dimension (its residual stream) is prunable: the class token and the
position embedding are per-channel members of the stream, LayerNorm over the channels
normalises over the live ones, and the export is exact with FLOPs (matmuls included) equal to
mmengine's counter. The heads of this attention (an explicit ``q @ k^T``) stay fixed; fused
attention's heads are prunable (test_attention_heads.py)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from gdpseg.core import prune, trace_groups
from gdpseg.core.verify import export_difference, random_plan
from gdpseg.evaluation import count_conv_linear_flops
from gdpseg.methods.gdp import attach_gates

from .helpers import check_export, randomize_gates


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        # sizes held as constants, as timm does (``x.shape[-1] // heads`` would follow the
        # stream's width after pruning and split qkv wrongly: the trace-time check sees that)
        self.heads, self.head_dim = heads, dim // heads
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x):
        n, t, _ = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, self.head_dim).permute(
            2, 0, 3, 1, 4).unbind(0)
        a = (q @ k.transpose(-2, -1) * self.head_dim ** -0.5).softmax(-1)
        return self.proj((a @ v).transpose(1, 2).reshape(n, t, self.heads * self.head_dim))


class TinyViT(nn.Module):
    def __init__(self, dim=16, tokens=16, classes=5):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, stride=4)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, tokens + 1, dim))
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, 2)
        self.norm2, self.fc1, self.fc2 = nn.LayerNorm(dim), nn.Linear(dim, 32), nn.Linear(32, dim)
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = x + self.attn(self.norm1(x))
        x = x + self.fc2(F.gelu(self.fc1(self.norm2(x))))
        return self.head(self.norm(x)[:, 0])


def _stream(groups):
    return next(g for g in groups.groups if 'patch' in g.producers)


def test_the_embedding_dimension_is_prunable_and_exact():
    torch.manual_seed(0)
    model, x = TinyViT().eval(), torch.randn(2, 3, 16, 16)
    groups = trace_groups(model, (x,))
    stream = _stream(groups)
    assert stream.prunable, stream.reasons
    assert {'', 'norm1', 'norm2', 'norm'} <= set(stream.members)  # '' holds the two params
    assert groups.graph.modules[''].params == {'cls_token': (2,), 'pos_embed': (2,)}
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))
    for seed in range(3):
        plan = random_plan(groups, seed, dead=0.0)
        assert export_difference(groups, plan, (x,)) < 1e-5
        kept = len(plan.keep[groups.groups.index(stream)])
        pruned = prune(model, groups, plan)
        assert pruned.pos_embed.shape == (1, 17, kept) and pruned.cls_token.shape == (1, 1, kept)
    # the parameter count follows: every value of both parameters is per channel
    full = sum(p.numel() for p in model.parameters())
    assert groups.full_params() == full


def test_gdp_gates_on_the_stream_give_the_export():
    torch.manual_seed(1)
    model = TinyViT().eval()
    gates = attach_gates(model, (torch.randn(2, 3, 16, 16),))
    for seed in range(2):
        randomize_gates(gates, seed)
        assert gates.live(_stream(gates.channel_groups)) < 16
        check_export(model, gates, (2, 3, 16, 16), seed=seed)


@pytest.mark.slow
def test_timm_vit_stream_is_prunable_and_exact():
    timm = pytest.importorskip('timm')
    torch.manual_seed(0)
    model = timm.create_model('vit_tiny_patch16_224', num_classes=10, depth=2).eval()
    x = torch.randn(1, 3, 224, 224)
    groups = trace_groups(model, (x,))
    stream = next(g for g in groups.groups if 'patch_embed.proj' in g.producers)
    assert stream.prunable and stream.size == 192
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))
    assert export_difference(groups, random_plan(groups, 0), (x,)) < 1e-4


def test_one_module_holding_tokens_of_two_streams_stays_exact():
    """CoaT keeps every stage's class token on the top module: the stages' streams have other
    widths, so one record cannot slice them alike; the second stays fixed, the export exact."""
    class TwoStages(nn.Module):
        def __init__(self):
            super().__init__()
            self.p1, self.p2 = nn.Conv2d(3, 8, 4, stride=4), nn.Linear(8, 12)
            self.cls1 = nn.Parameter(torch.randn(1, 1, 8))
            self.cls2 = nn.Parameter(torch.randn(1, 1, 12))
            self.head = nn.Linear(12, 3)

        def forward(self, x):
            x = self.p1(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls1.expand(x.shape[0], -1, -1), x], 1)
            x = self.p2(torch.relu(x))[:, 1:]
            x = torch.cat([self.cls2.expand(x.shape[0], -1, -1), x], 1)
            return self.head(torch.relu(x)).mean(1)

    torch.manual_seed(0)
    model, x = TwoStages().eval(), torch.randn(2, 3, 16, 16)
    with pytest.warns(UserWarning, match='untracked tensor'):
        groups = trace_groups(model, (x,))
    by = {p: g for g in groups.groups for p in g.producers}
    assert by['p1'].prunable and not by['p2'].prunable
    assert groups.graph.modules[''].params == {'cls1': (2,)}
    for seed in range(3):
        assert export_difference(groups, random_plan(groups, seed), (x,)) < 1e-5
