"""Rules of the trace for ops that move or combine channels without weights.

Each rule is ``rule(tracer, args, kwargs, out)``: it reads the labels of the op's inputs from the
:class:`~gdpseg.core.trace.ChannelTracer`, merges channel classes in its graph where the op pairs
channels one to one, labels the outputs, or reports the op as unsupported (its channels stay).
Layers with weights have their own handlers (:mod:`gdpseg.core.layers`); ops that cut or
regroup the channel axis (reshape, slicing, split) have theirs in :mod:`gdpseg.core.split_rules`.
"""
from typing import Callable, Dict

import torch

from .graph import Label, Seg
from .layers import handler_of
from .nested import iter_tensors
from .split_rules import getitem, reshape, split_like

# Ops that act on every channel independently and keep the channel axis where it is.
CHANNELWISE = {
    'relu', 'relu_', 'relu6', 'hardtanh', 'hardtanh_', 'leaky_relu', 'leaky_relu_', 'elu',
    'elu_', 'selu', 'celu', 'gelu', 'silu', 'mish', 'softplus', 'sigmoid', 'sigmoid_', 'tanh',
    'tanh_', 'hardswish', 'hardsigmoid', 'prelu_scalar', 'dropout', 'dropout1d', 'dropout2d',
    'dropout3d', 'alpha_dropout', 'feature_alpha_dropout', 'contiguous', 'clone', 'detach',
    'float', 'half', 'double', 'bfloat16', 'to', 'type', 'type_as', 'abs', 'neg', '__neg__',
    'exp', 'log', 'sqrt', 'rsqrt', 'square', 'clamp', 'clamp_', 'clip', 'clamp_min',
    'clamp_max', 'interpolate', 'upsample', 'upsample_nearest', 'upsample_bilinear',
    'requires_grad_', 'cpu', 'cuda', 'zero_', 'fill_', 'sign', 'floor', 'ceil', 'round',
    'nan_to_num', 'softmax2d_spatial', 'hardsigmoid_', 'hardswish_', 'silu_', 'mish_',
    'selu_', 'celu_', 'rrelu', 'rrelu_', 'threshold', 'threshold_', 'softsign', 'tanhshrink',
    'hardshrink', 'softshrink', 'logsigmoid', 'exp_', 'abs_', 'neg_', 'sqrt_', 'clamp_min_',
    'clamp_max_', 'nan_to_num_', 'erf', 'erf_',
}
# Binary element-wise ops: broadcast, channels of both operands are paired one to one.
BINARY = {
    'add', 'add_', '__add__', '__radd__', '__iadd__', 'sub', 'sub_', '__sub__', '__rsub__',
    '__isub__', 'mul', 'mul_', '__mul__', '__rmul__', '__imul__', 'div', 'div_', '__truediv__',
    '__rtruediv__', '__itruediv__', 'true_divide', 'maximum', 'minimum', 'pow', '__pow__',
    'addcmul', 'lerp', 'where', 'gt', 'lt', 'ge', 'le', 'ne', 'eq', '__gt__', '__lt__', '__ge__',
    '__le__', 'logical_and', 'logical_or', '__and__', '__or__',
}
# Pooling in every dimension, with or without indices: channel-wise.
POOLS = {f'{kind}_pool{d}d{suffix}' for d in (1, 2, 3) for kind, suffix in (
    ('max', ''), ('max', '_with_indices'), ('avg', ''), ('adaptive_avg', ''),
    ('adaptive_max', ''), ('adaptive_max', '_with_indices'), ('lp', ''),
    ('fractional_max', ''), ('fractional_max', '_with_indices'))} | {
    f'max_unpool{d}d' for d in (1, 2, 3)}



def first_label(tracer, args):
    return tracer.label(args[0]) if args else None

def channelwise(tracer, args, kwargs, out):
    lab = first_label(tracer, args)
    if lab is None:
        return
    for t in iter_tensors(out):
        if t.dim() == args[0].dim() and t.shape[lab.dim] == args[0].shape[lab.dim]:
            tracer.set_label(t, lab)

def binary(tracer, args, kwargs, out):
    operands = [a for a in iter_tensors(args)]
    if not isinstance(out, torch.Tensor):
        return
    labels = [(t, tracer.label(t)) for t in operands if t.dim() > 0]
    result = None
    for t, lab in labels:
        if lab is None:
            continue
        pos = lab.dim + out.dim() - t.dim()
        if t.shape[lab.dim] == 1 and out.shape[pos] > 1:
            continue  # one channel broadcast over the others (an attention map): not paired
        if result is None:
            result = Label(pos, lab.segs)
        elif result.dim != pos or not tracer.graph.unify(result.segs, lab.segs):
            tracer.unsupported(tracer.current_op, [result, lab],
                               ': operands pair channels unevenly')
            tracer.label_fixed(t, out, tracer.current_op, [result])
            return
    if result is None:
        return
    for t, lab in labels:
        if lab is not None:
            continue
        k = result.dim - (out.dim() - t.dim())
        if k < 0 or t.shape[k] == 1:
            continue  # broadcast over the channels
        if not _channel_param(tracer, t, k, result):  # an untracked tensor with its own channels
            tracer.unsupported('element-wise op with an untracked tensor', [result])
            break
    tracer.set_label(out, result)

def _channel_param(tracer, t, k, label) -> bool:
    """Record ``t`` as a per-channel parameter of ``label``'s channels, if it is one: a
    parameter (or a view of one) with one value per channel on axis ``k`` (layer scale), or one
    of the same rank with the channels on axis ``k`` and other values along other axes (a
    transformer's position embedding ``(1, L, C)``, its class token ``(1, 1, C)`` expanded)."""
    src = tracer.param_source(t)
    if src is None:
        return False
    p = getattr(src[1], src[2])
    if t.numel() == t.shape[k] and p.numel() == t.shape[k]:
        axes = ()  # one value per channel: sliced along its only long axis
    elif p.dim() == t.dim() and p.shape[k] == t.shape[k]:
        axes = (k,)
    elif list(p.shape).count(t.shape[k]) == 1:
        # gathered and permuted from a table with one axis of that length (Swin's relative
        # position bias, one column per head): that axis (the export check confirms it)
        axes = (list(p.shape).index(t.shape[k]),)
    else:
        return False
    rec = tracer.graph.modules.get(src[0])
    if rec is not None and rec.kind != 'channel_param' and handler_of(rec.kind).param_member \
            and tracer.graph.resolve(rec.in_segs) == tracer.graph.resolve(label.segs):
        return True  # a member that slices its own per-channel parameters (GRN's γ, β)
    if rec is not None and (rec.kind != 'channel_param' or
                            rec.params.get(src[2], axes) != axes or
                            tracer.graph.resolve(rec.in_segs) != tracer.graph.resolve(label.segs)):
        # the module is another layer, uses the parameter another way, or holds parameters of
        # other channels (CoaT's class tokens of four stages): one record slices them alike
        return False
    tracer.record_module(src[0], 'channel_param', in_segs=label.segs).params[src[2]] = axes
    return True


def cat(tracer, args, kwargs, out):
    tensors = list(args[0]) if args else list(kwargs['tensors'])
    dim = args[1] if len(args) > 1 else kwargs.get('dim', 0)
    dim = dim % out.dim()
    labels = [tracer.label(t) for t in tensors]
    if all(lab is None for lab in labels):
        return
    if any(lab is not None and lab.dim == dim for lab in labels):
        segs = []
        for t, lab in zip(tensors, labels):
            if lab is not None and lab.dim == dim:
                segs.extend(lab.segs)
            elif t.shape[dim] > 0:  # untracked channels: concatenated, never pruned
                tracer.unsupported('concatenation with an untracked tensor', [lab])
                segs.append(Seg(tracer.graph.new_node(t.shape[dim], 'untracked input')))
        tracer.set_label(out, Label(dim, tuple(segs)))
        return
    # Concatenation along another axis: channels of all parts are the same channels; an
    # untracked part may be a parameter with those channels (a class token before the patches)
    known = next(lab for lab in labels if lab is not None)
    labels = [known if lab is None and _channel_param(tracer, t, known.dim, known) else lab
              for t, lab in zip(tensors, labels)]
    binary_like(tracer, tensors, labels, out)


def binary_like(tracer, tensors, labels, out):
    known = [lab for lab in labels if lab is not None]
    base = known[0]
    for lab in known[1:]:
        if lab.dim != base.dim or not tracer.graph.unify(base.segs, lab.segs):
            tracer.unsupported('stack/cat of unevenly paired channels', known)
            return
    if len(known) != len(labels):
        tracer.unsupported('stack/cat with an untracked tensor', known)
        return
    tracer.set_label(out, base)

def stack(tracer, args, kwargs, out):
    tensors = list(args[0]) if args else list(kwargs['tensors'])
    dim = args[1] if len(args) > 1 else kwargs.get('dim', 0)
    labels = [tracer.label(t) for t in tensors]
    if all(lab is None for lab in labels):
        return
    dim = dim % out.dim()
    binary_like(tracer, tensors, [None if lab is None else Label(
        lab.dim + (dim <= lab.dim), lab.segs) for lab in labels], out)

def roll(tracer, args, kwargs, out):
    """``torch.roll`` along axes other than the channels (Swin's shifted windows)."""
    lab = first_label(tracer, args)
    if lab is None:
        return
    dims = args[2] if len(args) > 2 else kwargs.get('dims')
    dims = [] if dims is None else [dims] if isinstance(dims, int) else list(dims)
    if not dims or lab.dim in [d % args[0].dim() for d in dims]:
        tracer.unsupported('roll of the channel axis (or of the flattened tensor)', [lab])
        tracer.label_fixed(args[0], out, 'roll')
        return
    tracer.set_label(out, lab)


def permute(tracer, args, kwargs, out):
    lab = first_label(tracer, args)
    if lab is None:
        return
    dims = args[1:] if len(args) > 1 else kwargs['dims']
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = dims[0]
    dims = [d % out.dim() for d in dims]
    tracer.set_label(out, Label(dims.index(lab.dim), lab.segs))

def transpose(tracer, args, kwargs, out):
    lab = first_label(tracer, args)
    if lab is None:
        return
    a, b = (d % out.dim() for d in args[1:3])
    new = b if lab.dim == a else a if lab.dim == b else lab.dim
    tracer.set_label(out, Label(new, lab.segs))

def reduce(tracer, args, kwargs, out):
    """mean/sum/amax over axes other than the channels."""
    name = tracer.current_op
    lab = first_label(tracer, args)
    if lab is None or not isinstance(out, torch.Tensor):
        return
    dims = args[1] if len(args) > 1 else kwargs.get('dim')
    keep = kwargs.get('keepdim', args[2] if len(args) > 2 and isinstance(args[2], bool)
                      else False)
    if dims is None:
        tracer.unsupported(f'{name} over all axes', [lab])
        return
    dims = [d % args[0].dim() for d in (dims if isinstance(dims, (list, tuple)) else [dims])]
    if lab.dim in dims:
        tracer.unsupported(f'{name} over the channel axis', [lab])
        return
    new = lab.dim if keep else lab.dim - sum(d < lab.dim for d in dims)
    tracer.set_label(out, Label(new, lab.segs))

def norm(tracer, args, kwargs, out):
    """``x.norm(p, dim, keepdim)`` over axes other than the channels: channel-wise, as
    :func:`reduce` (GRN's L2 norm over the positions)."""
    dim = kwargs.get('dim', args[2] if len(args) > 2 else None)
    keep = kwargs.get('keepdim', args[3] if len(args) > 3 else False)
    reduce(tracer, (args[0], dim), dict(keepdim=keep), out)


def along_dim(tracer, args, kwargs, out):
    """softmax-like ops along one axis: fine unless it is the channel axis."""
    name = tracer.current_op
    lab = first_label(tracer, args)
    if lab is None:
        return
    dim = args[1] if len(args) > 1 else kwargs.get('dim')
    if dim is None or dim % args[0].dim() == lab.dim:
        tracer.unsupported(f'{name} over the channel axis', [lab])
        return
    tracer.set_label(out, lab)

def layer_norm(tracer, args, kwargs, out):
    """LayerNorm normalises over its trailing axes: channel-wise when the channels are not
    among them; over the channels, removing any channel changes the statistics of all."""
    lab = first_label(tracer, args)
    if lab is None:
        return
    shape = args[1] if len(args) > 1 else kwargs['normalized_shape']
    if lab.dim < args[0].dim() - len(shape):
        tracer.set_label(out, lab)
        return
    tracer.unsupported('layer_norm over the channels (removing channels would change its '
                       'statistics)', [lab])
    tracer.label_fixed(args[0], out, 'layer_norm')


def pad(tracer, args, kwargs, out):
    lab = first_label(tracer, args)
    if lab is None:
        return
    pad = args[1] if len(args) > 1 else kwargs['pad']
    touched = args[0].dim() - 1 - (len(pad) // 2 - 1)  # first dim the padding reaches
    if touched <= lab.dim and any(pad[2 * (args[0].dim() - 1 - lab.dim):][:2]):
        tracer.unsupported('padding of the channel axis', [lab])
        tracer.label_fixed(args[0], out, 'padding of the channel axis')
        return
    tracer.set_label(out, lab)

def expand(tracer, args, kwargs, out):
    lab = first_label(tracer, args)
    if lab is not None and out.shape[lab.dim + out.dim() - args[0].dim()] == \
            args[0].shape[lab.dim]:
        tracer.set_label(out, Label(lab.dim + out.dim() - args[0].dim(), lab.segs))
    elif lab is not None:
        tracer.unsupported('expand of the channel axis', [lab])


# Ops that move or combine channels without weights: name -> rule (after the layer handlers).
RULES: Dict[str, Callable] = {
    **{name: channelwise for name in CHANNELWISE | POOLS},
    **{name: binary for name in BINARY},
    **{name: cat for name in ('cat', 'concat', 'concatenate')},
    'stack': stack,
    'roll': roll,
    **{name: reshape for name in (
        'view', 'reshape', 'flatten', 'view_as', 'reshape_as', 'unsqueeze', 'squeeze')},
    'permute': permute,
    'transpose': transpose,
    **{name: reduce for name in ('mean', 'sum', 'amax')},
    'norm': norm,
    **{name: along_dim for name in ('softmax', 'log_softmax')},
    'pad': pad,
    'layer_norm': layer_norm,
    '__getitem__': getitem,
    **{name: split_like for name in ('split', 'chunk')},
    **{name: expand for name in ('expand', 'expand_as')},
}


def register_rule(names, rule: Callable, force: bool = False) -> Callable:
    """Teach the trace an op without weights, from outside the package: ``rule(tracer, args,
    kwargs, out)`` is called for each torch function or tensor method in ``names`` (a name or a
    list). Reuse the rules here where they fit (``channelwise``, ``binary``, ``reshape``...),
    or call ``tracer.unsupported(op, labels)`` for the cases a rule cannot model. An op that
    already has a rule needs ``force=True`` (the old rule is replaced)."""
    names = [names] if isinstance(names, str) else list(names)
    taken = [n for n in names if n in RULES and not force]
    if taken:
        raise KeyError(f'ops {taken} have rules already; pass force=True to replace them')
    for name in names:
        RULES[name] = rule
    return rule


def unregister_rule(names) -> None:
    """Remove the rules of ``names`` (the ops are then unsupported: their channels stay)."""
    for name in [names] if isinstance(names, str) else names:
        RULES.pop(name, None)
