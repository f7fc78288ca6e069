"""Grouped convolutions (1 < groups, not depthwise): traced and counted, channels kept.

Pruning them needs the same channels removed in every group (or whole groups removed); until a
handler does that, the groups they read and write are fixed, with a warning naming the layer.
"""
import math

from .base import LayerHandler
from .conv import CONV_FUNCTIONS, conv_call, trace_producer


class GroupedConv(LayerHandler):
    """A conv with ``groups > 1`` that is not depthwise (incl. depthwise with a multiplier)."""

    kind = 'grouped'
    functions = CONV_FUNCTIONS
    consumer = True

    def match(self, tracer, args, kwargs, out):
        groups = args[6] if len(args) > 6 else kwargs.get('groups', 1)
        return groups != 1

    def trace(self, tracer, args, kwargs, out):
        call = conv_call(tracer, args, kwargs, out)
        if call is not None:
            trace_producer(self, tracer, call, out,
                           blocked=f"grouped convolution (groups={call['groups']})")

    def gate_dims(self, rec):
        return (0 if rec.transposed else 1), 1

    def flops(self, call, cin, cout):
        # every output channel reads C_in / groups inputs; exact, as the channels are fixed
        return call.coef * cin * cout // call.groups

    def add_flops(self, res, call, ins, outs, sizes):
        cin = sum(sizes[p] * e for p, e in ins)
        cout = sum(sizes[q] * e for q, e in outs)
        res.const += self.flops(call, cin, cout)

    def params(self, module, rec, cin, cout):
        return math.prod(module.weight.shape) + (
            module.bias.numel() if module.bias is not None else 0)

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        full_in = module.weight.shape[0 if rec.transposed else 1] * module.groups
        full_out = module.out_channels
        if len(in_idx) != full_in or out_idx is not None and len(out_idx) != full_out:
            raise RuntimeError(f'{rec.name}: a grouped convolution cannot be sliced; its '
                               'groups must be fixed')
        if in_scale is not None and not bool((in_scale == 1).all()):
            raise RuntimeError(f'{rec.name}: gates on a grouped convolution cannot be folded')
