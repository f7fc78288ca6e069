"""The trace on meta tensors (shapes only): the same groups as the pass on values, the pass on
values where a model cannot run on meta tensors, and the model left as it was."""
import pytest
import torch
import torch.nn as nn

from gdpseg.core import trace_groups
from gdpseg.core.groups import META_MIN_ELEMENTS
from gdpseg.core.meta import MetaStateError, on_meta

from .test_attention_heads import TinyViT
from .test_models import MODELS
from .test_split_sizes import CSPStage, Net
from .test_unseen_ops import OpaqueNet


def _both(model, x, forward_fn=None):
    meta = trace_groups(model, (x,), forward_fn, verify=False, meta_trace=True)
    values = trace_groups(model, (x,), forward_fn, verify=False, meta_trace=False)
    assert values.traced_on == 'values'
    return meta, values


class DroppedBranch(nn.Module):
    """A conv whose result no output uses (dead compute) beside a live one."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 6, 1), \
            nn.Conv2d(8, 2, 1)

    def forward(self, x):
        y = torch.relu(self.a(x))
        self.b(y)
        return self.c(y)


def _small_models():
    for name, model, shape in (
            ('vit', TinyViT(), (2, 3, 16, 16)),
            ('res2net split', Net(), (1, 3, 8, 8)),
            ('csp split', nn.Sequential(nn.Conv2d(3, 8, 1), CSPStage()), (1, 3, 8, 8)),
            ('custom autograd function', OpaqueNet(), (1, 3, 8, 8)),
            ('dead compute', DroppedBranch(), (1, 3, 8, 8))):
        yield pytest.param(name, model, shape, id=name)


@pytest.mark.parametrize('name,model,shape', list(_small_models()))
def test_the_meta_pass_finds_what_the_pass_on_values_finds(name, model, shape):
    torch.manual_seed(0)
    model.eval()
    params = {k: p for k, p in model.named_parameters()}
    meta, values = _both(model, torch.randn(*shape))
    assert meta.traced_on == 'meta', meta.meta_error
    assert meta.signature() == values.signature()
    if name == 'dead compute':
        assert meta.dead_calls  # found on meta tensors too
    if name == 'custom autograd function':
        assert any(not g.prunable and any('custom autograd' in r for r in g.reasons)
                   for g in meta.groups)
    # the model has its own tensors back, the same objects
    assert all(p is params[k] and not p.is_meta for k, p in model.named_parameters())
    assert not any(b.is_meta for b in model.buffers())


@pytest.mark.slow
@pytest.mark.parametrize('name', list(MODELS))
def test_the_meta_pass_finds_the_same_groups_on_every_model_family(name):
    ctor, shape, fn = MODELS[name]
    torch.manual_seed(0)
    model = ctor().eval()
    meta, values = _both(model, torch.randn(*shape), fn)
    assert meta.traced_on == 'meta', meta.meta_error
    assert meta.signature() == values.signature()


class ValueBranch(nn.Module):
    """Control flow that reads a value: cannot run on meta tensors."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 8, 1), nn.Conv2d(8, 4, 1)

    def forward(self, x):
        y = self.a(x)
        return self.b(y if float(y.mean()) > -1e9 else -y)


def test_a_model_that_reads_values_is_traced_on_values():
    model, x = ValueBranch().eval(), torch.randn(1, 3, 8, 8)
    groups = trace_groups(model, (x,), meta_trace=True)
    assert groups.traced_on == 'values' and 'meta' in groups.meta_error.lower()
    assert groups.signature() == trace_groups(model, (x,), meta_trace=False).signature()
    assert not any(p.is_meta for p in model.parameters())
    model(x)


class Caching(nn.Module):
    """Stores tensors it computes while running: in an attribute, a dict, a list."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.last, self.by_shape, self.history = None, {}, []

    def forward(self, x):
        y = self.conv(x)
        self.last = y
        self.by_shape.setdefault(tuple(y.shape), y.new_ones(y.shape[1:]))
        self.history.append(y.detach())
        self.seen = y.sum()
        return y * self.by_shape[tuple(y.shape)]


def test_what_the_model_stores_on_meta_tensors_is_undone():
    model, x = Caching().eval(), torch.randn(1, 3, 8, 8)
    model(torch.randn(1, 3, 4, 4))  # a real entry stays
    last, kept = model.last, dict(model.by_shape)
    groups = trace_groups(model, (x,), meta_trace=True, verify=False)
    assert groups.traced_on == 'meta'
    assert model.last is last and model.by_shape == kept and len(model.history) == 1
    assert not model.seen.is_meta  # set by the first real call, given back
    model(x)  # runs on real tensors
    fresh = Caching().eval()  # what a first call adds is removed
    trace_groups(fresh, (x,), meta_trace=True, verify=False)
    assert not hasattr(fresh, 'seen') and fresh.by_shape == {} and fresh.history == []
    assert fresh.last is None


class ClearedCache(nn.Module):
    """timm's LeViT/EfficientFormer attention-bias cache: filled in eval mode, replaced by an
    empty dict when set to train mode (after the trace, a model built in train mode)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.cache = {}

    def train(self, mode=True):
        super().train(mode)
        if mode and self.cache:
            self.cache = {}
        return self

    def forward(self, x):
        if not self.training:
            self.cache.setdefault(str(x.device), x.new_ones(4, 1, 1))
        return self.conv(x) * self.cache.get(str(x.device), 1)


def test_a_cache_filled_and_then_replaced_is_emptied_too():
    model, x = ClearedCache().train(), torch.randn(1, 3, 8, 8)
    cache = model.cache
    groups = trace_groups(model, (x,), meta_trace=True, verify=False)
    assert groups.traced_on == 'meta' and model.training
    assert model.cache is cache and cache == {}
    model.eval()(x)


class BufferCache(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.register_buffer('table', torch.zeros(4))
        self.store = [[]]

    def forward(self, x):
        y = self.conv(x)
        self.table = y.new_ones(4)  # a buffer reassigned: given back
        self.store[0].append(y)  # nested in place: cannot be undone
        return y


def test_meta_tensors_that_cannot_be_removed_are_an_error_that_names_them():
    model, x = BufferCache().eval(), torch.randn(1, 3, 8, 8)
    table = model.table
    with pytest.raises(MetaStateError, match=r'store.*meta_trace=False'):
        trace_groups(model, (x,), meta_trace=True)
    assert model.table is table and not model.conv.weight.is_meta
    # on values, as the error says
    model.store = [[]]
    assert trace_groups(model, (x,), meta_trace=False).traced_on == 'values'


def test_on_meta_keeps_tied_parameters_tied_and_gives_them_back():
    a, b = nn.Linear(4, 4), nn.Linear(4, 4)
    b.weight = a.weight
    model = nn.Sequential(a, b)
    with on_meta(model):
        assert a.weight.is_meta and a.weight is b.weight
    assert a.weight is b.weight and not a.weight.is_meta


def test_auto_traces_on_meta_tensors_from_a_size_on():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Conv2d(4, 2, 1)).eval()
    side = int((META_MIN_ELEMENTS / 3) ** 0.5) + 1
    assert trace_groups(model, (torch.randn(1, 3, side, side),)).traced_on == 'meta'
    assert trace_groups(model, (torch.randn(1, 3, 16, 16),)).traced_on == 'values'
    with pytest.raises(ValueError, match='meta_trace'):
        trace_groups(model, (torch.randn(1, 3, 8, 8),), meta_trace='yes')


def test_a_swap_that_fails_gives_back_what_it_swapped():
    """A lazy layer's parameters have no shape yet: the pass on values materializes them."""
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.LazyConv2d(2, 1)).eval()
    weight = model[0].weight
    groups = trace_groups(model, (torch.randn(1, 3, 8, 8),), meta_trace=True)
    assert groups.traced_on == 'values' and 'uninitialized' in groups.meta_error
    assert model[0].weight is weight and not weight.is_meta
    assert model[2].weight.shape == (2, 4, 1, 1)
