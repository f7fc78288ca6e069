"""FLOPs of a network as MMEngine's analyzer counts them (one multiply-add = one flop)."""
import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer

# Operator names FlopAnalyzer gives to convolutions and fully connected layers.
CONV_LINEAR_OPS = ('conv', 'linear', 'addmm', 'matmul', 'bmm')


def count_flops(model, inputs, ops=None):
    """Multiply-accumulates of one forward pass of ``model`` on ``inputs``.

    Args:
        model: The network; it is run in eval mode under ``torch.no_grad``, with PyTorch's
            fused fast path of ``nn.MultiheadAttention`` (and of the transformer layers built on
            it) turned off: the analyzer does not count the fused ``_native_multi_head_attention``
            at all, while the unfused path computes the same thing with the projections it
            counts.
        inputs: A tensor or a tuple of positional inputs.
        ops: Operator names to keep (see :data:`CONV_LINEAR_OPS`); ``None`` counts every op
            the analyzer supports.

    Returns:
        int: The count.
    """
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    was_training = model.training
    fast_path = torch.backends.mha.get_fastpath_enabled()
    model.eval()
    try:
        torch.backends.mha.set_fastpath_enabled(False)
        with torch.no_grad():
            analyzer = FlopAnalyzer(model, inputs)
            analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            by_op = analyzer.by_operator()
    finally:
        torch.backends.mha.set_fastpath_enabled(fast_path)
        model.train(was_training)
    return int(sum(v for k, v in by_op.items() if ops is None or k in ops))


def count_conv_linear_flops(model, inputs):
    """:func:`count_flops` restricted to convolutions and fully connected layers."""
    return count_flops(model, inputs, CONV_LINEAR_OPS)


class TensorMode(nn.Module):
    """Call an MMEngine model as ``model(x, mode='tensor')``, so the analyzer can trace it."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x, mode='tensor')
