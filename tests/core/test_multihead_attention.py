"""``nn.MultiheadAttention``: its FLOPs equal mmengine's counter in every calling form, its
channels stay with the module named as the reason, and the convs around it still prune exactly."""
import pytest
import torch
import torch.nn as nn

from gdpseg.core import trace_groups
from gdpseg.core.verify import export_difference, random_plan
from gdpseg.evaluation import count_conv_linear_flops
from gdpseg.core import prune
from gdpseg.core.plan import plan_flops


class Block(nn.Module):
    """A conv stem, attention over the positions (SegFormer-like: optional spatial reduction of
    key and value), and a conv head."""

    def __init__(self, form, dim=16, heads=4):
        super().__init__()
        self.form = form
        self.stem = nn.Conv2d(3, dim, 3, padding=1)
        self.sr = nn.Conv2d(dim, dim, 2, stride=2)
        kv = dict(kdim=8, vdim=12) if form == 'kdim' else {}
        self.kv8 = nn.Linear(dim, 8)
        self.kv12 = nn.Linear(dim, 12)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=form != 'seq_first', **kv)
        self.hidden = nn.Conv2d(3, 8, 1)
        self.head = nn.Conv2d(dim + 8, 5, 1)

    def forward(self, img):
        x = self.stem(img)
        n, c, h, w = x.shape
        q = x.flatten(2).transpose(1, 2)  # (N, HW, C)
        form, opts = self.form, {}
        if form == 'sr':  # key = value: the reduced map
            k = v = self.sr(x).flatten(2).transpose(1, 2)
        elif form == 'kdim':
            k, v = self.kv8(q), self.kv12(q)
        else:
            k = v = q
        if form == 'mask':
            opts = dict(key_padding_mask=torch.zeros(n, h * w, dtype=torch.bool))
        if form == 'seq_first':
            q = k = v = q.transpose(0, 1)
        out = self.attn(q, k, v, need_weights=form in ('weights', 'mask', 'seq_first'), **opts)[0]
        if form == 'seq_first':
            out = out.transpose(0, 1)
        y = out.transpose(1, 2).reshape(n, c, h, w)
        return self.head(torch.cat([y, self.hidden(img)], 1))


FORMS = ['self', 'weights', 'sr', 'kdim', 'mask', 'seq_first']


@pytest.mark.parametrize('form', FORMS)
def test_flops_equal_the_counter_and_the_channels_stay(form):
    torch.manual_seed(0)
    model, x = Block(form).eval(), torch.randn(2, 3, 8, 8)
    groups = trace_groups(model, (x,))
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))
    stem = next(g for g in groups.groups if 'stem' in g.producers)
    assert not stem.prunable
    assert any('nn.MultiheadAttention' in r for r in stem.reasons), stem.reasons
    # the attention's output is fixed; what reaches the head beside it still prunes exactly
    hidden = next(g for g in groups.groups if 'hidden' in g.producers)
    assert hidden.prunable, hidden.reasons
    for seed in range(2):
        plan = random_plan(groups, seed, dead=0.0)
        assert export_difference(groups, plan, (x,)) < 1e-5
        pruned = prune(model, groups, plan)
        assert plan_flops(groups, plan) == count_conv_linear_flops(pruned, (x,))
        assert pruned.hidden.out_channels < 8 or seed


def test_counted_products_follow_need_weights():
    """The two bmm of the attention product are in the count only when weights are computed."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8)
    plain = trace_groups(Block('self').eval(), (x,)).full_flops()
    weights = trace_groups(Block('weights').eval(), (x,)).full_flops()
    n, heads, tokens, head_dim = 2, 4, 64, 4
    assert weights - plain == 2 * n * heads * tokens * tokens * head_dim
