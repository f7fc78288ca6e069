"""Shared checks of the core tests: random gate patterns, exactness, FLOPs agreement."""
import torch
import torch.nn as nn

from gdpseg.core import prune
from gdpseg.evaluation import count_conv_linear_flops


class Call(nn.Module):
    """Wrap a model so that mmengine's analyzer calls it through ``forward_fn``."""

    def __init__(self, model, forward_fn):
        super().__init__()
        self.model, self.forward_fn = model, forward_fn

    def forward(self, x):
        return self.forward_fn(self.model, (x,)) if self.forward_fn else self.model(x)


def randomize_gates(gates, seed, zero_frac=0.4, whole=()):
    """Random α (some exactly zero) in every prunable group; groups named in ``whole`` all zero."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for grp in gates.groups:
            if not grp.prunable:
                continue
            gates.alpha(grp).copy_(torch.randn(grp.size, generator=g).abs() + 0.05)
            gates.alpha(grp)[torch.rand(grp.size, generator=g) < zero_frac] = 0
            if grp.name in whole:
                gates.alpha(grp).zero_()


def check_export(model, gates, shape, forward_fn=None, seed=0, rtol=1e-4):
    """Export, compare outputs on fresh inputs and FLOPs with mmengine; return the export."""
    call = Call(model, forward_fn).eval()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed + 100))
    with torch.no_grad():
        ref = call(x)
        pruned = prune(model, gates)
        out = Call(pruned, forward_fn).eval()(x)
    assert out.shape == ref.shape
    assert ref.std() > 0, 'degenerate test: the gated output is constant'
    torch.testing.assert_close(out, ref, rtol=rtol, atol=rtol * float(ref.abs().max()))
    counted = count_conv_linear_flops(Call(pruned, forward_fn), (x,))
    assert abs(gates.flops() - counted) <= 0.005 * counted, (gates.flops(), counted)
    assert gates.flops() < gates.full_flops()
    return pruned
