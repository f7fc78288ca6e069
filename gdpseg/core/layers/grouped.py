"""Grouped convolutions (1 < groups, not depthwise): pruned by whole convolution groups.

A conv with ``groups = G`` reads ``a = C_in / G`` and writes ``b = C_out / G`` channels per
group. Removing conv group ``g`` removes input channels ``g·a … g·a+a-1`` and output channels
``g·b … g·b+b-1`` and nothing else, so the layer is a channel-wise *member* of one group whose
channels are its conv groups: the trace asks for blocks of ``a`` channels on the input's class
and ``b`` on the output's, ties them (:meth:`ChannelGraph.tie_blocks`), and the group's gate
sits on the next conv. FLOPs ``coef · C_in · b`` are linear in the group's width. Depthwise
convs with a channel multiplier are the case ``a = 1``.

A conv whose input is not whole conv groups of one segment (a concatenation cutting a conv
group), or a transposed grouped conv, keeps the channels it reads and writes, with the reason.
"""
import torch

from ..graph import Label, Seg
from .base import LayerHandler, set_tensor
from .conv import CONV_FUNCTIONS, LAYER_FIXED, conv_call, make_call, trace_producer


def _per_conv_group(module) -> int:
    """Parameters of one conv group (its filters and biases)."""
    return sum(p.numel() for p in module.parameters(recurse=False)) // module.groups


class GroupedConv(LayerHandler):
    """A conv with ``groups > 1`` that is not depthwise (incl. depthwise with a multiplier)."""

    kind = 'grouped'
    filters = True
    functions = CONV_FUNCTIONS

    def match(self, tracer, args, kwargs, out):
        groups = args[6] if len(args) > 6 else kwargs.get('groups', 1)
        return groups != 1

    def trace(self, tracer, args, kwargs, out):
        call = conv_call(tracer, args, kwargs, out)
        if call is None:
            return
        if call['fixed']:
            trace_producer(LAYER_FIXED, tracer, call, out, blocked=call['fixed'])
            return
        x, lab, groups = call['x'], call['label'], call['groups']
        a, b = x.shape[1] // groups, out.shape[1] // groups
        seg = lab.segs[0] if lab is not None and len(lab.segs) == 1 else None
        graph = tracer.graph
        rec = graph.modules.get(call['name'])
        if call['transposed'] or seg is None or a % seg.expand or \
                rec is not None and rec.kind != self.kind:
            why = 'transposed' if call['transposed'] else \
                'reading channels that are not whole conv groups of one group'
            trace_producer(LAYER_FIXED, tracer, call, out,
                           blocked=f'grouped convolution (groups={groups}) {why}')
            return
        if rec is None:
            rec = tracer.record_module(call['name'], self.kind, in_segs=lab.segs)
            rec.tied_node = graph.new_node(out.shape[1])
        else:
            tracer.record_module(call['name'], self.kind, in_segs=lab.segs)
        graph.tie_blocks(seg.node, a // seg.expand, rec.tied_node, b)
        out_segs = (Seg(rec.tied_node),)
        graph.calls.append(make_call(self.kind, call, lab.segs, out_segs, out))
        tracer.set_label(out, Label(1, out_segs))

    def flops(self, call, cin, cout):
        # every output channel reads C_in / groups inputs: coef · C_in · (C_out / groups)
        return call.coef * cin * (call.out_shape[1] // call.groups)

    def add_flops(self, res, call, ins, outs, sizes):
        per_input = call.coef * (call.out_shape[1] // call.groups)
        for p, e in ins:
            res.lin[p] += per_input * e

    def params(self, module, rec, cin, cout):
        return cin // (module.in_channels // module.groups) * _per_conv_group(module)

    def add_params(self, res, module, rec, ins, outs, sizes):
        a = module.in_channels // module.groups
        for p, e in ins:
            res.lin[p] += _per_conv_group(module) * e / a

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        a = module.in_channels // module.groups
        b = module.out_channels // module.groups
        kept = torch.unique(in_idx // a)
        rows = (kept.unsqueeze(1) * b + torch.arange(b)).flatten()
        set_tensor(module, 'weight', module.weight[rows])
        if module.bias is not None:
            set_tensor(module, 'bias', module.bias[rows])
        module.groups = len(kept)
        module.in_channels, module.out_channels = len(kept) * a, len(rows)
