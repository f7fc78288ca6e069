"""``nn.MultiheadAttention`` unfused (``unfuse_attention``): the same outputs and checkpoints, and
then its heads and the channels around it prune exactly, with FLOPs equal to the counter."""
import pytest
import torch
import torch.nn as nn

from gdpseg.core import prune, trace_groups
from gdpseg.core.plan import plan_flops
from gdpseg.core.unfused_attention import UnfusedMultiheadAttention, unfuse_attention
from gdpseg.core.verify import export_difference, random_plan
from gdpseg.evaluation import count_conv_linear_flops
from gdpseg.methods.gdp import attach_gates

from .helpers import check_export, randomize_gates


class SegFormerLike(nn.Module):
    """A conv stem, attention whose key and value are a spatially reduced map (SegFormer's
    efficient self-attention, mmcv's wrapper calls ``attn(query, key, value)[0]``), an MLP."""

    def __init__(self, dim=16, heads=4, batch_first=True, sr=True):
        super().__init__()
        self.stem = nn.Conv2d(3, dim, 3, padding=1)
        self.sr = nn.Conv2d(dim, dim, 2, stride=2) if sr else None
        self.norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=batch_first)
        self.fc1, self.fc2 = nn.Linear(dim, 24), nn.Linear(24, dim)
        self.head = nn.Conv2d(dim, 5, 1)
        self.batch_first = batch_first

    def forward(self, img):
        x = self.stem(img)
        n, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        kv = self.norm(self.sr(x).flatten(2).transpose(1, 2)) if self.sr is not None else t
        q = t
        if not self.batch_first:
            q, kv = q.transpose(0, 1), kv.transpose(0, 1)
        a = self.attn(q, kv, kv)[0]
        if not self.batch_first:
            a = a.transpose(0, 1)
        t = t + a
        t = t + self.fc2(torch.relu(self.fc1(t)))
        return self.head(t.transpose(1, 2).reshape(n, c, h, w))


@pytest.mark.parametrize('batch_first', [True, False])
def test_unfused_computes_what_the_fused_does_and_loads_its_checkpoint(batch_first):
    torch.manual_seed(0)
    model, x = SegFormerLike(batch_first=batch_first).eval(), torch.randn(2, 3, 8, 8)
    fused_state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        ref = model(x)
        assert unfuse_attention(model) == 1
        assert isinstance(model.attn, UnfusedMultiheadAttention)
        torch.testing.assert_close(model(x), ref, rtol=1e-5, atol=1e-5)
        other = SegFormerLike(batch_first=batch_first).eval()
        unfuse_attention(other)
        other.load_state_dict(fused_state)  # a checkpoint of the fused model
        torch.testing.assert_close(other(x), ref, rtol=1e-5, atol=1e-5)
    # masks: a key padding mask (bool) gives the fused module's result
    fused = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    unf = UnfusedMultiheadAttention.from_fused(fused).eval()
    q, pad = torch.randn(2, 5, 8), torch.tensor([[False] * 4 + [True], [False] * 5])
    with torch.no_grad():
        torch.testing.assert_close(unf(q, q, q, key_padding_mask=pad)[0],
                                   fused(q, q, q, key_padding_mask=pad)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('sr', [True, False])
def test_heads_and_stream_prune_exactly_once_unfused(sr):
    torch.manual_seed(1)
    model, x = SegFormerLike(sr=sr).eval(), torch.randn(2, 3, 8, 8)
    fused_groups = trace_groups(model, (x,))
    assert not any(g.prunable for g in fused_groups.groups if 'stem' in g.producers)
    unfuse_attention(model)
    groups = trace_groups(model, (x,))
    heads = next(g for g in groups.groups if 'attn.q_proj' in g.producers)
    assert heads.prunable and (heads.size, heads.unit) == (4, 4), heads.reasons
    assert {'attn.k_proj', 'attn.v_proj'} <= set(heads.producers)
    stem = next(g for g in groups.groups if 'stem' in g.producers)
    assert stem.prunable, stem.reasons  # the stream the attention reads and writes
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))
    for seed in range(3):
        plan = random_plan(groups, seed, dead=0.0)
        assert export_difference(groups, plan, (x,)) < 1e-5
        pruned = prune(model, groups, plan)
        kept = len(plan.keep[groups.groups.index(heads)])
        assert pruned.attn.num_heads == kept and pruned.attn.q_proj.out_features == 4 * kept
        assert plan_flops(groups, plan) == count_conv_linear_flops(pruned, (x,))


def test_gdp_gates_through_the_unfused_attention():
    torch.manual_seed(2)
    model = SegFormerLike().eval()
    unfuse_attention(model)
    gates = attach_gates(model, (torch.randn(2, 3, 8, 8),))
    for seed in range(2):
        randomize_gates(gates, seed)
        check_export(model, gates, (2, 3, 8, 8), seed=seed)


def test_the_algorithm_option_unfuses_and_refuses_a_model_without_attention():
    from gdpseg.models.algorithms import PruningAlgorithm

    alg = PruningAlgorithm(SegFormerLike(), input_shape=(1, 3, 8, 8), forward_mode=None,
                           unfuse_attention=True)
    assert isinstance(alg.architecture.attn, UnfusedMultiheadAttention)
    assert any(g.prunable for g in alg.channel_groups.groups if 'attn.q_proj' in g.producers)
    with pytest.raises(ValueError, match='no nn.MultiheadAttention'):
        PruningAlgorithm(nn.Sequential(nn.Conv2d(3, 4, 1)), input_shape=(1, 3, 8, 8),
                         forward_mode=None, unfuse_attention=True)
