"""GroupNorm, pruned by whole norm groups.

A GroupNorm with ``G`` groups normalises each run of ``C / G`` channels by its own statistics, so
removing a whole run leaves the statistics of the others unchanged: the layer is a member of its
input's group, which the trace makes a group of norm groups (blocks of ``C / G`` channels, see
:meth:`ChannelGraph.require_block`). Removing part of a run would change its statistics, so
finer pruning is never offered. LayerNorm over the channel axis normalises all channels together:
any removal changes the statistics, so it has no handler and its channels stay fixed.
"""
import torch.nn as nn

from .base import set_tensor
from .norm import Norm


class GroupNormLayer(Norm):
    """``nn.GroupNorm`` (the module, since the export rewrites its ``num_groups``); counted
    like the other norms (:class:`Norm`)."""

    kind = 'groupnorm'
    functions = ('group_norm',)

    def trace(self, tracer, args, kwargs, out):
        x = args[0]
        lab = tracer.label(x)
        if lab is None:
            return
        running = tracer.running_modules()
        module = tracer.module(running[-1]) if running else None
        num_groups = args[1] if len(args) > 1 else kwargs.get('num_groups')
        if not isinstance(module, nn.GroupNorm) or lab.dim != 1:
            tracer.unsupported('group_norm outside an nn.GroupNorm module', [lab])
            tracer.label_fixed(x, out, 'group_norm')
            return
        run = x.shape[1] // num_groups
        if any(run % s.expand or (tracer.graph.sizes[s.node] * s.expand) % run
               for s in lab.segs):
            tracer.unsupported('group_norm whose groups cut a channel group', [lab])
            tracer.set_label(out, lab)
            return
        for s in lab.segs:
            tracer.graph.require_block(s.node, run // s.expand)
        tracer.record_module(running[-1], self.kind, in_segs=lab.segs)
        tracer.set_label(out, lab)

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        run = module.num_channels // module.num_groups
        for name in ('weight', 'bias'):  # either may be absent (PoolFormerV2: no bias)
            if getattr(module, name, None) is not None:
                set_tensor(module, name, getattr(module, name)[in_idx])
        module.num_groups, module.num_channels = len(in_idx) // run, len(in_idx)
