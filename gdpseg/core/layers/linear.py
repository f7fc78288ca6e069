"""Fully connected layers: producer of a group (the last axis), consumer of the input's."""
import math

import torch

from ..graph import CallRecord, Label, Seg
from .base import DenseLayer, scale_along, set_tensor


class Linear(DenseLayer):
    """``nn.Linear`` (channels last). FLOPs ``rows · C_in · C_out``; a flattened input repeats
    each channel of a group ``expand`` times (``Seg.expand``)."""

    kind = 'linear'
    filters = True
    timed = True
    functions = ('linear',)

    def channel_counts(self, call):
        return call.in_shape[-1], call.out_shape[-1]

    def positions(self, call):
        return math.prod(call.out_shape[1:-1])

    def stock_layer(self, call, cin, cout):
        x = torch.randn(1, *call.in_shape[1:-1], cin) if len(call.in_shape) > 2 else \
            torch.randn(1, cin)
        return torch.nn.Linear(cin, cout), x

    def trace(self, tracer, args, kwargs, out):
        x = args[0]
        weight = args[1] if len(args) > 1 else kwargs.get('weight')
        owner = tracer.owner(weight)
        lab = tracer.label(x)
        if owner is None or owner[2] != 'weight':
            tracer.unsupported('linear with an untracked weight', [lab])
            return
        if lab is not None and lab.dim != x.dim() - 1:  # it mixes another axis (see conv_call)
            tracer.unsupported('linear over an axis other than the tracked channels', [lab])
            lab = None
        mname = owner[0]
        in_segs = lab.segs if lab is not None else (
            Seg(tracer.graph.new_node(x.shape[-1], 'untracked input')),)
        rec = tracer.graph.modules.get(mname)
        if rec is None:
            rec = tracer.record_module(mname, self.kind, in_segs=in_segs,
                                       out_node=tracer.graph.new_node(out.shape[-1]))
        else:
            tracer.record_module(mname, self.kind, in_segs=in_segs)
        rec.in_numel = x[0].numel()
        out_segs = (Seg(rec.out_node),)
        tracer.graph.calls.append(CallRecord(
            mname, self.kind, math.prod(x.shape[:-1]), in_segs, out_segs,
            in_shape=tuple(x.shape), out_shape=tuple(out.shape)))
        tracer.set_label(out, Label(out.dim() - 1, out_segs))

    def gate_dims(self, rec):
        return 1, -1

    def params(self, module, rec, cin, cout):
        return cin * cout + (cout if module.bias is not None else 0)

    def add_params(self, res, module, rec, ins, outs, sizes):
        for q, eq in outs:
            for p, e in ins:
                res.add_pair(p, q, e * eq)
            if module.bias is not None:
                res.lin[q] += eq

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        w = scale_along(module.weight.index_select(1, in_idx), 1, in_scale)
        w = w.index_select(0, out_idx)
        set_tensor(module, 'weight', w)
        if module.bias is not None:
            set_tensor(module, 'bias', module.bias[out_idx])
        module.in_features, module.out_features = w.shape[1], w.shape[0]
