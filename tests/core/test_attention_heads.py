"""Attention heads of a packed qkv projection with fused attention (timm's ``Attention``) are
prunable as whole heads: q, k and v of a head go together, the export rewrites the head count
and the merged width, outputs match and FLOPs equal mmengine's counter. Attention the rules do
not model (a head count computed from the input's width, an explicit ``q @ k^T``) keeps its
heads."""
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


@pytest.mark.parametrize('kind', ['count_from_input', 'explicit_product'])
def test_attention_the_rules_do_not_model_keeps_its_heads(kind):
    torch.manual_seed(3)
    attn = dict(count_from_input=True) if kind == 'count_from_input' else dict(fused=False)
    # count_from_input: heads = width // head_dim, which the export cannot rewrite
    model = TinyViT(dim=20, **attn).eval()
    x = torch.randn(2, 3, 16, 16)
    groups = trace_groups(model, (x,))
    assert not any(g.prunable for g in _heads(groups))
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))
    plan = random_plan(groups, 0, dead=0.0)
    assert export_difference(groups, plan, (x,)) < 1e-5
