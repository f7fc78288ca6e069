"""Matrix products of activations (attention): counted, the channels they read stay.

``matmul``/``bmm`` of activations mix channels in ways no group models (an attention map, a
product over the channel axis), so the channels they read are fixed, like any unmodelled op.
Their multiply-adds are still counted, as mmengine's counter counts them, so that a model's
FLOPs are right whether or not it is pruned.
"""
import math

from ..graph import CallRecord
from .base import LayerHandler


class MatMul(LayerHandler):
    kind = 'matmul'
    functions = ('matmul', 'bmm', '__matmul__', '__rmatmul__')

    def trace(self, tracer, args, kwargs, out):
        a, b = args[0], args[1]
        if tracer.current_op == '__rmatmul__':
            a, b = b, a
        labels = [tracer.label(a), tracer.label(b)]
        labelled = [lab for lab in labels if lab is not None]
        if labelled:
            tracer.unsupported(tracer.current_op, labelled)
            tracer.label_fixed(a if labels[0] is not None else b, out, tracer.current_op,
                               labelled[1:])
        sa = list(a.shape) if a.dim() > 1 else [1, a.shape[0]]
        cols = b.shape[-1] if b.dim() > 1 else 1
        tracer.graph.calls.append(CallRecord(tracer.where, self.kind, math.prod(sa) * cols,
                                             (), (), in_shape=tuple(a.shape),
                                             out_shape=tuple(out.shape)))

    def flops(self, call, cin, cout):
        return call.coef

    def add_flops(self, res, call, ins, outs, sizes):
        res.const += call.coef


class HeadMatMul(LayerHandler):
    """A product of attention (``q @ k^T``, ``attention @ v``) whose heads are prunable
    (:mod:`gdpseg.core.heads`): ``coef`` multiply-adds per head, linear in the heads kept."""

    kind = 'head_matmul'

    def flops(self, call, cin, cout):
        return call.coef * cin

    def add_flops(self, res, call, ins, outs, sizes):
        for p, e in ins:
            res.lin[p] += call.coef * e
