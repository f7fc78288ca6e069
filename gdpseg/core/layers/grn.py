"""Global Response Normalization (ConvNeXt-V2): ``x + γ·(x·N(x)) + β`` with
``N(x) = G(x) / mean over the channels of G(x)`` and ``G(x)`` each channel's L2 norm over the
positions.

The mean over the channels makes every channel's output depend on the others, as LayerNorm's
statistics do, and it is made exact the same way (:mod:`.layernorm`): while gates are attached
(and in the masked model the trace-time check uses) a hook replaces each dead channel's input by
a constant whose norm over the positions is the live channels' mean norm, so the mean over all
channels is the mean over the live ones. The export, a GRN over the kept channels, computes the
same function on them. Recognised by the modules that implement it (timm's
``GlobalResponseNorm``, mmpretrain's ``GRN``); the mean they take over the channels elsewhere
stays fixed.
"""
import math

from .base import set_tensor
from .norm import Norm

GRN_MODULES = ('GlobalResponseNorm', 'GRN')


class GlobalResponseNormLayer(Norm):
    """A GRN module on a group's channels: a member whose parameters are per channel."""

    kind = 'grn'
    functions = ('mean',)
    live_dependent = True
    param_member = True  # its weight/bias (gamma/beta) are sliced by its prune

    def match(self, tracer, args, kwargs, out):
        running = tracer.running_modules()
        if not running or type(tracer.module(running[-1])).__name__ not in GRN_MODULES:
            return False
        lab, entry = tracer.label(args[0]), tracer.label(tracer.module_input())
        dim = args[1] if len(args) > 1 else kwargs.get('dim')
        dims = dim if isinstance(dim, (list, tuple)) else (dim,)
        return lab is not None and entry is not None and len(dims) == 1 and \
            dims[0] is not None and dims[0] % args[0].dim() == lab.dim and \
            tuple(entry.segs) == tuple(lab.segs)

    def trace(self, tracer, args, kwargs, out):
        lab = tracer.label(args[0])
        axis = tracer.label(tracer.module_input()).dim
        rec = tracer.record_module(tracer.running_modules()[-1], self.kind, in_segs=lab.segs)
        rec.channel_axes = (axis,)
        # the mean has one value over the channels, broadcast back to them: no label

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        size = module.weight.shape[0] if hasattr(module, 'weight') else None
        for name, p in list(module.named_parameters(recurse=False)):
            if p.dim() == 1 and (size is None or p.shape[0] == size):
                set_tensor(module, name, p[in_idx])
        if hasattr(module, 'in_channels'):
            module.in_channels = len(in_idx)

    def params(self, module, rec, cin, cout):
        return sum(1 for p in module.parameters(recurse=False) if p.dim() == 1) * cin

    def live_hooks(self, module, rec, live_of):
        axis = rec.channel_axes[0]

        def before(mod, args):
            live = live_of()
            if live is None or bool(live.all()) or not bool(live.any()):
                return None
            x = args[0]
            shape = [1] * x.dim()
            shape[axis] = -1
            mask = live.to(x.dtype).view(shape)
            spatial = [d for d in range(1, x.dim()) if d != axis]
            norms = x.norm(p=2, dim=spatial, keepdim=True)
            mean = (norms * mask).sum(axis, keepdim=True) / int(live.sum())
            positions = math.prod(x.shape[d] for d in spatial)
            fill = mean / math.sqrt(positions)  # a constant with the live mean norm
            return (x * mask + fill * (1 - mask), *args[1:])

        return [module.register_forward_pre_hook(before)]
