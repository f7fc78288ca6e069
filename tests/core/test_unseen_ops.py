"""What the trace cannot see: custom autograd functions, layers shared by several parents, and
the export check that catches any other disagreement when the groups are found."""
import pytest
import torch
import torch.nn as nn

import gdpseg.core.trace as trace_module
from gdpseg.core import (ExportMismatchError, PruningPlan, export_difference, prune,
                         trace_groups)


class _ChannelSum(torch.autograd.Function):
    """A compiled-extension stand-in: reads every channel where no torch function is called."""

    @staticmethod
    def forward(ctx, x):
        out = x.new_zeros(x.shape[0], 4, *x.shape[2:])
        with torch._C.DisableTorchFunction():  # invisible to the trace, like C++ code
            total = x.sum(1, keepdim=True)
            out.copy_(total.expand_as(out))
        return out

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError


class OpaqueNet(nn.Module):
    """``a`` feeds a conv and a custom function; ``b`` feeds only a conv."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 6, 1), nn.Conv2d(3, 5, 1)
        self.head_a, self.head_b = nn.Conv2d(6, 4, 1), nn.Conv2d(5, 4, 1)

    def forward(self, x):
        a, b = self.a(x), self.b(x)
        return self.head_a(a) + self.head_b(b) + _ChannelSum.apply(a)


def _names(groups, prunable):
    return {g.name for g in groups.groups if g.prunable == prunable}


def test_channels_read_by_a_custom_autograd_function_are_fixed_with_its_name():
    net = OpaqueNet().eval()
    with pytest.warns(UserWarning, match='custom autograd function _ChannelSum'):
        groups = trace_groups(net, (torch.randn(2, 3, 8, 8),))
    a = groups.by_name('a')
    assert not a.prunable and any('_ChannelSum' in r for r in a.reasons)
    assert groups.by_name('b').prunable
    assert groups.graph.links  # its output is a fixed node computed from a


def test_the_export_check_fixes_what_the_trace_misses(monkeypatch):
    # Without the detection of custom functions, a's channels look prunable; the check at
    # trace time finds that pruning them changes the output and fixes exactly that group.
    monkeypatch.setattr(trace_module.ChannelTracer, 'find_opaque', lambda self, t: None)
    net = OpaqueNet().eval()
    x = torch.randn(2, 3, 8, 8)
    unchecked = trace_groups(net, (x,), verify=False)
    assert unchecked.by_name('a').prunable
    plan = PruningPlan([torch.arange(g.size) if not g.prunable else torch.arange(2)
                        for g in unchecked.groups])
    assert export_difference(unchecked, plan, (x,)) > 1e-2  # silently wrong, without the check
    with pytest.warns(UserWarning, match='changes what the export computes'):
        groups = trace_groups(net, (x,))
    assert _names(groups, False) >= {'a'} and 'b' in _names(groups, True)
    assert any('export differs' in r for r in groups.by_name('a').reasons)


def test_the_export_check_raises_when_fixing_groups_cannot_help(monkeypatch):
    monkeypatch.setattr('gdpseg.core.verify.export_difference', lambda *a, **k: 1.0)
    with pytest.raises(ExportMismatchError, match='strict=True'), pytest.warns(UserWarning):
        trace_groups(OpaqueNet().eval(), (torch.randn(2, 3, 8, 8),))


class SharedHead(nn.Module):
    """One conv shared by two levels under two parents, as detection heads share convs."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 1)
        shared = nn.Conv2d(8, 8, 3, padding=1)
        self.level0 = nn.Sequential(shared, nn.BatchNorm2d(8), nn.ReLU())
        self.level1 = nn.Sequential(shared, nn.BatchNorm2d(8), nn.ReLU())
        self.out = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        f = self.stem(x)
        return self.out(self.level0(f)), self.out(self.level1(f[:, :, ::2, ::2]))


def test_a_dead_shared_layer_is_replaced_under_every_parent():
    torch.manual_seed(0)
    net = SharedHead().eval()
    x = torch.randn(1, 3, 8, 8)
    groups = trace_groups(net, (x,))
    shared = groups.by_name('level0.0')
    assert shared.prunable and groups.by_name('stem').prunable
    plan = PruningPlan([torch.arange(0) if g is shared else torch.arange(g.size)
                        for g in groups.groups])
    pruned = prune(net, groups, plan)
    assert pruned.level0[0] is pruned.level1[0]  # still one module, now a carrier
    assert not isinstance(pruned.level1[0], nn.Conv2d)
    assert export_difference(groups, plan, (x,)) < 1e-6


def _sizes_seen(module):
    sizes = []
    module.register_forward_pre_hook(lambda m, args: sizes.append(tuple(args[0].shape[-2:])))
    return sizes


def test_the_export_check_runs_on_a_crop_and_still_finds_what_the_trace_misses(monkeypatch):
    monkeypatch.setattr(trace_module.ChannelTracer, 'find_opaque', lambda self, t: None)
    net = OpaqueNet().eval()
    sizes = _sizes_seen(net.a)
    with pytest.warns(UserWarning, match='changes what the export computes'):
        groups = trace_groups(net, (torch.randn(1, 3, 256, 256),))
    assert sizes[0] == (256, 256) and set(sizes[1:]) == {(64, 64)}  # trace, then the check
    assert not groups.by_name('a').prunable and groups.by_name('b').prunable
    sizes.clear()
    with pytest.warns(UserWarning, match='changes what the export computes'):
        trace_groups(net, (torch.randn(1, 3, 256, 256),), verify='full')
    assert set(sizes) == {(256, 256)}
    with pytest.raises(ValueError, match="'full'"):
        trace_groups(net, (torch.randn(1, 3, 8, 8),), verify='crop')


class FlatHead(nn.Module):
    """A linear layer on flattened pixels: it runs at one input size only."""

    def __init__(self, side):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=32, padding=1)
        self.fc = nn.Linear(4 * (side // 32) ** 2, 2)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))


def test_a_model_that_does_not_run_on_the_crop_is_checked_at_full_size():
    net = FlatHead(256).eval()
    sizes = _sizes_seen(net.conv)
    groups = trace_groups(net, (torch.randn(1, 3, 256, 256),))
    assert groups.by_name('conv').prunable  # no group fixed because the crop failed
    assert (64, 64) in sizes and sizes.count((256, 256)) >= 3  # tried, then checked at 256


def test_cropped_inputs_keep_the_strides_of_32():
    from gdpseg.core.verify import cropped_inputs
    x, extra = torch.randn(2, 3, 512, 768), object()
    small = cropped_inputs((x, extra))
    assert small[0].shape == (2, 3, 64, 64) and small[1] is extra
    assert torch.equal(small[0], x[..., :64, :64])
    assert cropped_inputs((torch.randn(1, 3, 224, 100),))[0].shape == (1, 3, 64, 100)
    assert cropped_inputs((torch.randn(1, 3, 64, 60),)) is None
    assert cropped_inputs((torch.randn(1, 196, 64),)) is None  # not an image batch


@pytest.mark.parametrize('name', ['mobilenet_v3_small', 'vit'])
def test_the_check_s_export_shares_tensors_and_leaves_the_model_unchanged(name):
    """The export check slices a copy that shares the model's tensors (no deepcopy of the
    weights); every handler replaces what it slices, so the model is bitwise unchanged and the
    export computes what an owning export computes."""
    import torchvision

    from gdpseg.core.verify import random_plan

    from .test_transformer_stream import TinyViT
    torch.manual_seed(0)
    if name == 'vit':
        model, x = TinyViT().eval(), torch.randn(2, 3, 16, 16)
    else:  # BN, depthwise convs, squeeze-excitation, linear layers
        model = torchvision.models.mobilenet_v3_small(num_classes=7).eval()
        x = torch.randn(1, 3, 64, 64)
    groups = trace_groups(model, (x,))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    plan = random_plan(groups, seed=1)
    shared = prune(model, groups, plan, share_tensors=True).eval()
    owned = prune(model, groups, plan).eval()
    ptrs = {t.data_ptr() for t in model.state_dict().values()}
    if name != 'vit':  # the ViT's plan slices every tensor; MobileNet's keeps its logits whole
        assert any(t.data_ptr() in ptrs for t in shared.state_dict().values())
    assert not any(t.data_ptr() in ptrs for t in owned.state_dict().values() if t.numel())
    with torch.no_grad():
        torch.testing.assert_close(shared(x), owned(x), rtol=0, atol=0)
    assert export_difference(groups, plan, (x,)) < 1e-4
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
