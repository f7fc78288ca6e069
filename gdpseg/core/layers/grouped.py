"""Grouped convolutions (1 < groups, not depthwise): pruned by whole convolution groups.

A conv with ``groups = G`` reads ``a = C_in / G`` and writes ``b = C_out / G`` channels per
group. Removing conv group ``g`` removes input channels ``g·a … g·a+a-1`` and output channels
``g·b … g·b+b-1`` and nothing else, so the layer is a channel-wise *member* of one group whose
channels are its conv groups: the trace asks for blocks of ``a`` channels on the input's class
and ``b`` on the output's, ties them (:meth:`ChannelGraph.tie_blocks`), and the group's gate
sits on the next conv. FLOPs ``coef · C_in · b`` are linear in the group's width. Depthwise
convs with a channel multiplier are the case ``a = 1``.

A conv whose input is not whole conv groups of one segment (a concatenation cutting a conv
group, shuffled channels) keeps the channels it reads, with the reason, and its output is
pruned within its conv groups (below); a transposed grouped conv keeps the channels it reads and
writes.

When the conv groups' outputs are later split apart and combined channel by channel (ResNeSt's
split attention sums its ``radix`` conv groups), every conv group's output block is one class:
the layer is then pruned *within* its conv groups (:class:`GroupedWithinConv`): all conv groups
stay, each keeps the same input and output channels, and the layer is a consumer of its input
class (gated on its input) and the producer of its output class, with FLOPs
``coef · C_in · C_out / groups``, bilinear.
"""
import math

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
            if call['transposed'] or rec is not None and rec.kind != GroupedWithinConv.kind:
                trace_producer(LAYER_FIXED, tracer, call, out,
                               blocked=f'grouped convolution (groups={groups}) {why}')
            else:
                _trace_fixed_input(tracer, call, out, f'grouped convolution (groups={groups}) '
                                                      f'{why}')
            return
        if rec is None:
            rec = tracer.record_module(call['name'], self.kind, in_segs=lab.segs)
            rec.tied_node = graph.new_node(out.shape[1])
        else:
            tracer.record_module(call['name'], self.kind, in_segs=lab.segs)
        graph.tie_blocks(seg.node, a // seg.expand, rec.tied_node, b,
                         within=(rec, GroupedWithinConv.kind))
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


def _trace_fixed_input(tracer, call, out, why: str) -> None:
    """A grouped conv whose input is not whole conv groups (ShuffleNetV1's 1x1 convs after a
    channel shuffle or a concatenation): pruned within its conv groups, the same channels of
    every conv group (so every conv group keeps as many) on its output and, where the input's
    conv groups can be tied channel by channel, on its input; else its input is kept."""
    graph, x, groups = tracer.graph, call['x'], call['groups']
    lab = call['label']
    in_segs = lab.segs if lab is not None else (Seg(graph.new_node(x.shape[1],
                                                                    'untracked input')),)
    rec = graph.modules.get(call['name'])
    if rec is None:
        rec = tracer.record_module(call['name'], GroupedWithinConv.kind, in_segs=in_segs,
                                   out_node=graph.new_node(out.shape[1]))
    else:
        tracer.record_module(call['name'], GroupedWithinConv.kind, in_segs=in_segs)
    ins = graph.pieces(in_segs, [x.shape[1] // groups] * groups)
    if ins is None or not all(graph.unify(ins[0], p) for p in ins[1:]):
        tracer.unsupported(why, [Label(1, in_segs)])
    in_segs = graph.resolve(in_segs)
    out_segs = (Seg(rec.out_node),)
    pieces = graph.pieces(out_segs, [out.shape[1] // groups] * groups)
    if pieces is None or not all(graph.unify(pieces[0], p) for p in pieces[1:]):
        tracer.unsupported(why, [Label(1, out_segs)])
    rec.in_numel = x[0].numel()
    rec.in_spatial, rec.out_spatial = tuple(x.shape[2:]), tuple(out.shape[2:])
    graph.calls.append(make_call(GroupedWithinConv.kind, call, in_segs, out_segs, out))
    tracer.set_label(out, Label(1, graph.resolve(out_segs)))


class GroupedWithinConv(LayerHandler):
    """A grouped conv pruned within its conv groups (see the module's docstring): recorded as
    :class:`GroupedConv` by the trace, made this kind by ``ChannelGraph.finalize``."""

    kind = 'grouped_within'
    consumer = True
    filters = True
    gate_on_weight = False  # the weight holds C_in / groups input channels: gate the input

    def gate_dims(self, rec):
        return 1, 1

    def flops(self, call, cin, cout):
        return call.coef * cin * cout // call.groups

    def add_flops(self, res, call, ins, outs, sizes):
        for p, ep in ins:
            for q, eq in outs:
                res.add_pair(p, q, call.coef * ep * eq / call.groups)

    def params(self, module, rec, cin, cout):
        k = math.prod(module.weight.shape[2:])
        return k * cin * cout // module.groups + (cout if module.bias is not None else 0)

    def add_params(self, res, module, rec, ins, outs, sizes):
        k = math.prod(module.weight.shape[2:])
        for q, eq in outs:
            for p, e in ins:
                res.add_pair(p, q, k * e * eq / module.groups)
            if module.bias is not None:
                res.lin[q] += eq

    @staticmethod
    def _local(idx, groups, per_group, what):
        """The positions within a conv group that every conv group keeps."""
        local = idx[idx < per_group]
        same = len(idx) == groups * len(local) and torch.equal(
            idx.view(groups, -1), local + per_group * torch.arange(groups).unsqueeze(1))
        if not same:
            raise RuntimeError(f'a grouped conv pruned within its groups must keep the same '
                               f'{what} channels in every conv group')
        return local

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        g = module.groups
        a, b = module.in_channels // g, module.out_channels // g
        rows = torch.arange(module.out_channels) if out_idx is None else out_idx
        cols = self._local(in_idx, g, a, 'input')
        self._local(rows, g, b, 'output')
        w = module.weight[rows][:, cols]
        if in_scale is not None:  # row r of conv group q reads input q·a' + j at column j
            per_row = in_scale.to(w.dtype).view(g, -1).repeat_interleave(len(rows) // g, 0)
            w = w * per_row.view(*per_row.shape, *[1] * (w.dim() - 2))
        set_tensor(module, 'weight', w)
        if module.bias is not None:
            set_tensor(module, 'bias', module.bias[rows])
        module.in_channels, module.out_channels = g * len(cols), len(rows)
