"""LayerNorm over the channels (ConvNeXt, channels-last blocks, transformers' LayerNorm2d).

Its statistics are taken over every channel, so removing channels changes what it computes on
the others. It is prunable all the same because the gated (or masked) model already normalises
over the live channels alone: while gates are attached, hooks (:meth:`LayerNormLayer.live_hooks`)
turn the input into one whose statistics over all ``C`` channels are those of the ``k`` live ones
-- live channels become ``μ + s (x − μ)`` with ``s = √(C/k)``, dead ones ``μ`` (``μ``: the live
mean) -- and take the factor ``s`` off the output. The export is then a plain LayerNorm over the
``k`` kept channels, computing the same function.

Handled: ``F.layer_norm`` over the last axis alone (``normalized_shape`` of one size) that holds a
group's channels, called by an ``nn.LayerNorm`` (or subclass, e.g. a LayerNorm2d that permutes
its input) on its own input's channels, which its output keeps on one axis. Anything else over
the channels stays fixed (the ``layer_norm`` rule).
"""
import math

import torch.nn as nn

from .norm import Norm


class LayerNormLayer(Norm):
    """``nn.LayerNorm`` over a group's channels: a member that normalises over live channels."""

    kind = 'layernorm'
    functions = ('layer_norm',)
    live_dependent = True

    def match(self, tracer, args, kwargs, out):
        x = args[0]
        lab = tracer.label(x)
        shape = args[1] if len(args) > 1 else kwargs.get('normalized_shape')
        running = tracer.running_modules()
        if lab is None or len(tuple(shape)) != 1 or lab.dim != x.dim() - 1 or not running:
            return False
        module = tracer.module(running[-1])
        entry = tracer.label(tracer.module_input())
        return isinstance(module, nn.LayerNorm) and entry is not None and \
            tuple(entry.segs) == tuple(lab.segs)

    def trace(self, tracer, args, kwargs, out):
        lab = tracer.label(args[0])
        name = tracer.running_modules()[-1]
        module = tracer.module(name)
        axis_in = tracer.label(tracer.module_input()).dim
        rec = tracer.record_module(name, self.kind, in_segs=lab.segs)
        tracer.set_label(out, lab)

        def leave(mod, inputs, output):  # where the module's output keeps the channels
            handle.remove()
            got = tracer.label(output)
            axes = (axis_in, got.dim) if got is not None and \
                tuple(got.segs) == tuple(lab.segs) else None
            if axes is None or rec.channel_axes and rec.channel_axes != axes:
                tracer.unsupported('LayerNorm whose output moves or mixes its channels', [lab])
            else:
                rec.channel_axes = axes
        handle = module.register_forward_hook(leave)

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        super().prune(module, rec, in_idx, in_scale, out_idx)
        module.normalized_shape = (len(in_idx),)

    def live_hooks(self, module, rec, live_of):
        axis_in, axis_out = rec.channel_axes
        state = {}

        def before(mod, args):
            live = live_of()
            if live is None or bool(live.all()) or not bool(live.any()):
                return None  # all live (nothing to do) or all dead (nothing reads it)
            x = args[0]
            shape = [1] * x.dim()
            shape[axis_in] = -1
            mask = live.to(x.dtype).view(shape)
            k = int(live.sum())
            s = math.sqrt(live.numel() / k)
            mean = (x * mask).sum(axis_in, keepdim=True) / k
            state['s'], state['live'] = s, live
            return (mean + (x - mean) * (mask * s), *args[1:])

        def after(mod, args, out):
            if not state:
                return None
            s, live = state.pop('s'), state.pop('live')
            shape = [1] * out.dim()
            shape[axis_out] = -1
            bias = mod.bias.view(shape) if mod.bias is not None else 0.0
            mask = live.to(out.dtype).view(shape)
            return out - (out - bias) * (mask * (1 - 1 / s))  # live: (out - b) / s + b

        return [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
