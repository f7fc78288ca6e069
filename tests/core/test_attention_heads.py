"""Attention heads of a packed qkv projection (timm's ``Attention``, fused or written out;
mmpretrain's; Swin's window attention with its per-head bias) are prunable as whole heads: q, k
and v of a head go together, the export rewrites the head count and the merged width, outputs
match and FLOPs equal mmengine's counter. A head count computed from the input's width keeps
its heads."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from gdpseg.core import prune, trace_groups
from gdpseg.core.plan import PruningPlan, full_plan, plan_flops
from gdpseg.core.verify import export_difference, random_plan
from gdpseg.evaluation import count_conv_linear_flops
from gdpseg.methods.gdp import attach_gates

from .helpers import check_export, randomize_gates


class Attention(nn.Module):
    """timm's Attention (fused path): head count and widths held as attributes."""

    def __init__(self, dim, heads, head_dim, fused=True, count_from_input=False):
        super().__init__()
        self.num_heads, self.head_dim, self.attn_dim = heads, head_dim, heads * head_dim
        self.fused, self.count_from_input = fused, count_from_input
        self.qkv = nn.Linear(dim, 3 * self.attn_dim)
        self.proj = nn.Linear(self.attn_dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        heads = c // self.head_dim if self.count_from_input else self.num_heads
        q, k, v = self.qkv(x).reshape(b, n, 3, heads, self.head_dim).permute(
            2, 0, 3, 1, 4).unbind(0)
        if self.fused:
            x = F.scaled_dot_product_attention(q, k, v)
        else:
            x = (q @ k.transpose(-2, -1) * self.head_dim ** -0.5).softmax(-1) @ v
        return self.proj(x.transpose(1, 2).reshape(b, n, self.attn_dim))


class PretrainAttention(nn.Module):
    """mmpretrain's MultiheadAttention: parts taken by index, merged to ``embed_dims`` (its
    ``input_dims`` holds the same number: the input's width)."""

    def __init__(self, dim, heads, head_dim):
        super().__init__()
        self.input_dims, self.embed_dims = dim, heads * head_dim
        self.num_heads, self.head_dims = heads, head_dim
        self.qkv = nn.Linear(dim, 3 * self.embed_dims)
        self.proj = nn.Linear(self.embed_dims, dim)

    def forward(self, x):
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, self.embed_dims))


class TinyViT(nn.Module):
    def __init__(self, dim=24, heads=4, head_dim=5, depth=2, pretrain=False, **attn):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, stride=4)
        self.blocks = nn.ModuleList()
        for _ in range(depth):
            self.blocks.append(nn.ModuleDict(dict(
                norm1=nn.LayerNorm(dim), attn=PretrainAttention(dim, heads, head_dim)
                if pretrain else Attention(dim, heads, head_dim, **attn),
                norm2=nn.LayerNorm(dim), fc1=nn.Linear(dim, 32), fc2=nn.Linear(32, dim))))
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, 5)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        for blk in self.blocks:
            x = x + blk['attn'](blk['norm1'](x))
            x = x + blk['fc2'](F.gelu(blk['fc1'](blk['norm2'](x))))
        return self.head(self.norm(x).mean(1))


def _heads(groups):
    return [g for g in groups.groups if any(p.endswith('qkv') for p in g.producers)]


def test_heads_are_one_group_per_attention_in_units_of_head_dim():
    torch.manual_seed(0)
    model, x = TinyViT().eval(), torch.randn(2, 3, 16, 16)
    groups = trace_groups(model, (x,))
    heads = _heads(groups)
    assert len(heads) == 2
    for g in heads:
        assert g.prunable, g.reasons
        assert (g.size, g.unit) == (4, 5)  # one channel per head, 5 layer channels each
        assert any(c.endswith('proj') for c in g.consumers)
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))


def test_export_is_exact_and_rewrites_the_head_count():
    torch.manual_seed(1)
    model, x = TinyViT().eval(), torch.randn(2, 3, 16, 16)
    groups = trace_groups(model, (x,))
    heads = _heads(groups)
    for seed in range(4):
        plan = random_plan(groups, seed, dead=0.0)
        assert export_difference(groups, plan, (x,)) < 1e-5
        pruned = prune(model, groups, plan)
        for blk, g in zip(pruned.blocks, heads):
            kept = len(plan.keep[groups.groups.index(g)])
            attn = blk['attn']
            assert attn.num_heads == kept and attn.attn_dim == 5 * kept
            assert attn.qkv.out_features == 3 * 5 * kept and attn.proj.in_features == 5 * kept
        assert plan_flops(groups, plan) == count_conv_linear_flops(pruned, (x,))
    # the heads that stay are the plan's: keep heads 1 and 3 of the first attention only
    plan = full_plan(groups)
    keep = list(plan.keep)
    keep[groups.groups.index(heads[0])] = torch.tensor([1, 3])
    plan = PruningPlan(keep, plan.scale)
    pruned = prune(model, groups, plan)
    rows = torch.cat([torch.arange(5, 10), torch.arange(15, 20)])
    qkv = model.blocks[0]['attn'].qkv.weight.view(3, 20, -1)[:, rows].reshape(-1, 24)
    torch.testing.assert_close(pruned.blocks[0]['attn'].qkv.weight, qkv)
    assert export_difference(groups, plan, (x,)) < 1e-5


def test_gdp_gates_on_heads_export_exactly_also_when_all_heads_go():
    torch.manual_seed(2)
    model = TinyViT().eval()
    gates = attach_gates(model, (torch.randn(2, 3, 16, 16),))
    heads = [g.name for g in _heads(gates.channel_groups)]
    assert len(heads) == 2
    for seed in range(2):
        randomize_gates(gates, seed, whole=heads[:1] if seed else ())
        pruned = check_export(model, gates, (2, 3, 16, 16), seed=seed)
        if seed:  # no head left: the export keeps one with a zero factor (a linear producer)
            assert pruned.blocks[0]['attn'].num_heads <= 1


class NoneTrain(TinyViT):
    """A model whose ``train()`` returns None (mmpretrain's VisionTransformer): nothing may
    chain ``.eval()``."""

    def train(self, mode=True):
        super().train(mode)


def test_mmpretrain_form_indexed_parts_and_embed_dims():
    torch.manual_seed(4)
    model, x = NoneTrain(dim=20, pretrain=True), torch.randn(2, 3, 16, 16)
    model.eval()
    groups = trace_groups(model, (x,))
    heads = _heads(groups)
    assert len(heads) == 2 and all(g.prunable for g in heads), [g.reasons for g in heads]
    plan = random_plan(groups, 1, dead=0.0)
    assert export_difference(groups, plan, (x,)) < 1e-5
    pruned = prune(model, groups, plan)
    kept = len(plan.keep[groups.groups.index(heads[0])])
    attn = pruned.blocks[0]['attn']
    assert (attn.num_heads, attn.embed_dims, attn.input_dims) == (kept, 5 * kept, 20)
    assert plan_flops(groups, plan) == count_conv_linear_flops(pruned, (x,))


def test_explicit_products_prune_heads_and_are_counted_per_head():
    torch.manual_seed(3)
    model, x = TinyViT(fused=False).eval(), torch.randn(2, 3, 16, 16)
    groups = trace_groups(model, (x,))
    heads = _heads(groups)
    assert len(heads) == 2 and all(g.prunable for g in heads), [g.reasons for g in heads]
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))  # both bmm counted
    for seed in range(2):
        plan = random_plan(groups, seed, dead=0.0)
        assert export_difference(groups, plan, (x,)) < 1e-5
        assert plan_flops(groups, plan) == count_conv_linear_flops(prune(model, groups, plan),
                                                                   (x,))


def test_a_head_count_computed_from_the_input_keeps_the_heads():
    torch.manual_seed(3)
    # heads = width // head_dim: the export cannot rewrite it; the check at trace time finds
    # that pruning changes the output and fixes what it touches
    model = TinyViT(dim=20, count_from_input=True).eval()
    x = torch.randn(2, 3, 16, 16)
    with pytest.warns(UserWarning, match='changes what the export computes'):
        groups = trace_groups(model, (x,))
    assert not any(g.prunable for g in _heads(groups))
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))
    plan = random_plan(groups, 0, dead=0.0)
    assert export_difference(groups, plan, (x,)) < 1e-5


class WindowAttention(nn.Module):
    """Swin's: the head count from an attribute, the head width left to the reshape (-1), an
    explicit ``q @ k^T`` plus a relative position bias gathered from a table with one column
    per head."""

    def __init__(self, dim, heads, window):
        super().__init__()
        self.num_heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads))
        self.register_buffer('index', torch.randint(0, (2 * window - 1) ** 2,
                                                    (window ** 2, window ** 2)))

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(
            2, 0, 3, 1, 4).unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.table[self.index.view(-1)].view(n, n, -1).permute(2, 0, 1).contiguous()
        attn = (attn + bias.unsqueeze(0)).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, -1))


class TinySwin(nn.Module):
    """Patch embedding, a shifted window (roll), window attention, patch merging (the channels
    merged with the 2×2 positions before them), a classifier."""

    def __init__(self, dim=12, heads=3):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 2, stride=2)
        self.norm1, self.attn = nn.LayerNorm(dim), WindowAttention(dim, heads, 4)
        self.norm2, self.reduction = nn.LayerNorm(4 * dim), nn.Linear(4 * dim, 2 * dim)
        self.head = nn.Linear(2 * dim, 5)

    def forward(self, img):
        x = self.patch(img).permute(0, 2, 3, 1)  # (B, 8, 8, C)
        b, h, w, c = x.shape
        s = torch.roll(x, shifts=(-2, -2), dims=(1, 2))
        win = s.view(b, 2, 4, 2, 4, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, 16, c)
        out = self.attn(self.norm1(win)).view(b, 2, 2, 4, 4, c).permute(0, 1, 3, 2, 4, 5)
        x = x + torch.roll(out.reshape(b, h, w, c), shifts=(2, 2), dims=(1, 2))
        x = x.reshape(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 4, 2, 5).flatten(3)
        return self.head(self.reduction(self.norm2(x)).mean((1, 2)))


def test_swin_block_heads_bias_roll_and_patch_merging():
    torch.manual_seed(5)
    model, x = TinySwin().eval(), torch.randn(2, 3, 16, 16)
    groups = trace_groups(model, (x,))
    by = {g.name.split(' ')[0]: g for g in groups.groups}
    assert by['attn.qkv'].prunable and (by['attn.qkv'].size, by['attn.qkv'].unit) == (3, 4)
    assert by['patch'].prunable, by['patch'].reasons  # the stream through roll and merging
    assert by['reduction'].prunable
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))
    for seed in range(3):
        plan = random_plan(groups, seed, dead=0.0)
        assert export_difference(groups, plan, (x,)) < 1e-5
        pruned = prune(model, groups, plan)
        kept = len(plan.keep[groups.groups.index(by['attn.qkv'])])
        assert pruned.attn.num_heads == kept and pruned.attn.table.shape[1] == kept
        assert pruned.reduction.in_features == 4 * pruned.patch.out_channels
        assert plan_flops(groups, plan) == count_conv_linear_flops(pruned, (x,))


def test_heads_returned_by_the_network_stay():
    class ReturnsQ(Attention):
        def forward(self, x):
            b, n, _ = x.shape
            q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(
                2, 0, 3, 1, 4).unbind(0)
            x = F.scaled_dot_product_attention(q, k, v)
            return self.proj(x.transpose(1, 2).reshape(b, n, self.attn_dim)), q

    # without the export check: the trace itself must fix them
    groups = trace_groups(ReturnsQ(8, 2, 4).eval(), (torch.randn(2, 5, 8),), verify=False)
    heads = _heads(groups)
    assert heads and all('network output' in g.reasons for g in heads), heads
