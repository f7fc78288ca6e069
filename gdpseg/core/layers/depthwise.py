"""Depthwise convolutions (``groups = C_in = C_out``): channel-wise members of their input group."""
from ..graph import Label, Seg
from .base import LayerHandler, set_tensor
from .conv import CONV_FUNCTIONS, LAYER_FIXED, conv_call, make_call, stock_conv, trace_producer


class DepthwiseConv(LayerHandler):
    """Each channel is filtered on its own, so the output channels *are* the input channels:
    no new group, no gate; FLOPs are linear in the group's width; export slices the filters."""

    kind = 'depthwise'
    filters = True
    timed = True
    tied_widths = True
    functions = CONV_FUNCTIONS

    def stock_layer(self, call, cin, cout):
        return stock_conv(call, cin, cin, groups=cin)

    def match(self, tracer, args, kwargs, out):
        groups = args[6] if len(args) > 6 else kwargs.get('groups', 1)
        cin = args[0].shape[1]
        return groups > 1 and groups == cin == out.shape[1] and \
            'transpose' not in tracer.current_op

    def trace(self, tracer, args, kwargs, out):
        call = conv_call(tracer, args, kwargs, out)
        if call is None:
            return
        if call['fixed']:
            trace_producer(LAYER_FIXED, tracer, call, out, blocked=call['fixed'])
            return
        lab = call['label']
        segs = lab.segs if lab is not None else (
            Seg(tracer.graph.new_node(args[0].shape[1], 'untracked input')),)
        tracer.record_module(call['name'], self.kind, in_segs=segs)
        tracer.graph.calls.append(make_call(self.kind, call, segs, segs, out))
        tracer.set_label(out, Label(1, segs))

    def flops(self, call, cin, cout):
        return call.coef * cin

    def add_flops(self, res, call, ins, outs, sizes):
        for p, e in ins:
            res.lin[p] += call.coef * e

    def params(self, module, rec, cin, cout):
        per_channel = sum(p.numel() for p in module.parameters(recurse=False)) // \
            module.weight.shape[0]
        return per_channel * cin

    def add_params(self, res, module, rec, ins, outs, sizes):
        for p, e in ins:
            res.lin[p] += self.params(module, rec, 1, 1) * e

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        set_tensor(module, 'weight', module.weight[in_idx])
        if module.bias is not None:
            set_tensor(module, 'bias', module.bias[in_idx])
        module.in_channels = module.out_channels = module.groups = len(in_idx)
