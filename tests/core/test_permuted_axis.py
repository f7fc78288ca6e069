"""A conv or linear whose channel axis is another axis of the traced tensor (after a permute:
OCRNet's object context, TOOD's task decomposition): the group on the other axis stays, the
layer is counted as the call it is, and its own output channels can be pruned."""
import pytest
import torch
import torch.nn as nn

from gdpseg.core import trace_groups
from gdpseg.evaluation import count_conv_linear_flops
from gdpseg.methods.gdp import attach_gates

from .helpers import check_export, randomize_gates


class PermutedConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(16, 6, 1)  # reads the 16 rows as its channels
        self.c = nn.Conv2d(6, 4, 1)

    def forward(self, x):  # (n, 3, 16, 16)
        y = torch.relu(self.a(x)).permute(0, 2, 1, 3)  # (n, 16 rows, 8 channels of a, 16)
        return self.c(torch.relu(self.b(y)))


class PermutedLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Linear(16, 6)  # over the rows, the channels of a on axis 1
        self.c = nn.Linear(6, 5)

    def forward(self, x):
        y = torch.relu(self.a(x)).mean(3)  # (n, 8, 16)
        return self.c(torch.relu(self.b(y)))


def _by_producer(groups):
    return {p: g for g in groups.groups for p in g.producers}


@pytest.mark.parametrize('net', [PermutedConv, PermutedLinear])
def test_a_layer_over_another_axis_is_counted_and_its_outputs_pruned(net):
    torch.manual_seed(0)
    model, x = net().eval(), torch.randn(2, 3, 16, 16)
    with pytest.warns(UserWarning, match='over an axis other than the tracked channels'):
        groups = trace_groups(model, (x,))
    by = _by_producer(groups)
    assert not by['a'].prunable  # its channels are mixed as rows by b
    assert any('axis other than the tracked channels' in r for r in by['a'].reasons)
    assert by['b'].prunable  # b's filters are ordinary channels
    assert 'b' in {c.module for c in groups.counted_calls()}
    assert groups.full_flops() == count_conv_linear_flops(model, (x,))  # nothing vanishes
    with pytest.warns(UserWarning):
        gates = attach_gates(model, (x,))
    b = _by_producer(gates.channel_groups)['b']
    for seed in range(3):
        randomize_gates(gates, seed)
        pruned = check_export(model, gates, (2, 3, 16, 16), seed=seed)
        assert pruned.b.weight.shape[0] == int((gates.alpha(b) != 0).sum())


def test_strict_mode_still_refuses_it():
    from gdpseg.core.trace import UnsupportedOpError
    with pytest.raises(UnsupportedOpError, match='axis other than the tracked channels'):
        trace_groups(PermutedConv().eval(), (torch.randn(1, 3, 16, 16),), strict=True)
