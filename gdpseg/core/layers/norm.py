"""Batch and instance normalisation: channel-wise members of the group they normalise."""
import torch

from .base import LayerHandler, set_tensor

_PER_CHANNEL = ('weight', 'bias', 'running_mean', 'running_var')


class Norm(LayerHandler):
    """``BatchNorm*d`` / ``InstanceNorm*d``: statistics and affine parameters per channel, so the
    layer follows its input's group and is sliced alike. GroupNorm is pruned by whole norm
    groups (:mod:`.groupnorm`); LayerNorm over channels has no handler: the trace fixes what it
    touches."""

    kind = 'norm'
    functions = ('batch_norm', 'instance_norm')

    def trace(self, tracer, args, kwargs, out):
        lab = tracer.label(args[0]) if args else None
        if lab is None:
            return
        if lab.dim != 1:
            tracer.unsupported('normalisation over a moved channel axis', [lab])
            return
        # (input, running_mean, running_var, weight, bias, ...) for both functions
        owners = [tracer.owner(kwargs.get(n, args[i] if len(args) > i else None))
                  for n, i in (('running_mean', 1), ('weight', 3))]
        owners = [o for o in owners if o is not None]
        if owners:
            tracer.record_module(owners[0][0], self.kind, in_segs=lab.segs)
        tracer.set_label(out, lab)

    def params(self, module, rec, cin, cout):
        return sum(1 for p in module.parameters(recurse=False)) * cin

    def affine(self, module):
        weight = getattr(module, 'weight', None)
        return None if weight is None else (weight, getattr(module, 'bias', None))

    def add_params(self, res, module, rec, ins, outs, sizes):
        for p, e in ins:
            res.lin[p] += self.params(module, rec, 1, 1) * e

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        for name in _PER_CHANNEL:
            if isinstance(getattr(module, name, None), torch.Tensor):
                set_tensor(module, name, getattr(module, name)[in_idx])
        module.num_features = len(in_idx)
