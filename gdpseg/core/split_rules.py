"""Trace rules for ops that cut or regroup the channel axis: ``reshape`` (merging the channels
with later axes, or splitting them into equal runs), slicing ``x[:, a:b]``, ``split``/``chunk``;
and the module attributes holding split sizes that the export rewrites
(``ChannelGraph.size_attributes``). Registered in :data:`gdpseg.core.rules.RULES`.
"""
import math

import torch

from .graph import Label, Seg
from .heads import split_heads


def _first_label(tracer, args):
    return tracer.label(args[0]) if args else None


def reshape(tracer, args, kwargs, out):
    """view/reshape/flatten/(un)squeeze: the channel axis may merge with the axes after it
    (flatten -> linear), or split into ``(g, C / g)`` (channel shuffle, split attention's radix):
    see :func:`_split_channels`. Merging it with earlier axes is not modelled."""
    x = args[0]
    lab = tracer.label(x)
    if lab is None or not isinstance(out, torch.Tensor):
        return
    ishape, oshape = list(x.shape), list(out.shape)
    if split_heads(tracer, lab, args, ishape, oshape, out):  # first: one head looks like unsqueeze
        return
    prefix, channels = math.prod(ishape[:lab.dim]), ishape[lab.dim]
    # Candidate output axes: those preceded by exactly the input axes before the channels
    # (several when size-1 axes are involved, e.g. batch 1).
    for j in range(len(oshape)):
        if math.prod(oshape[:j]) != prefix:
            continue
        merged, k = 1, lab.dim + 1
        while channels * merged < oshape[j] and k < len(ishape):
            merged *= ishape[k]
            k += 1
        if channels * merged == oshape[j]:
            tracer.set_label(out, Label(j, tuple(Seg(s.node, s.expand * merged)
                                               for s in lab.segs)))
            return
    # the channel axis merged with axes before it (Swin's patch merging: (..., 2, 2, C) ->
    # (..., 4C)): the channels repeat as consecutive segments, one per position of those axes
    j = len(oshape) - (len(ishape) - lab.dim)  # the merged axis: the later axes are kept
    for i0 in range(lab.dim - 1, -1, -1):
        if j < 0 or oshape[j + 1:] != ishape[lab.dim + 1:] or \
                math.prod(oshape[:j]) != math.prod(ishape[:i0]):
            continue
        if oshape[j] == math.prod(ishape[i0:lab.dim + 1]):
            repeats = math.prod(ishape[i0:lab.dim])
            tracer.set_label(out, Label(j, tuple(lab.segs) * repeats))
            return
    if not _split_channels(tracer, lab, ishape, oshape, out):
        tracer.unsupported('reshape that splits the channel axis', [lab])


def _split_channels(tracer, lab, ishape, oshape, out) -> bool:
    """The channel axis split into ``(g, C / g)``: its ``g`` runs of ``C / g`` channels are
    tied one to one (pruned alike), and the last new axis carries their shared channels. So
    ShuffleNet's ``view(n, g, C/g, h, w).transpose(1, 2).reshape(n, C, h, w)`` repeats each
    channel ``g`` times in a row, and ResNeSt's radix axis can be summed over. ``g`` may be
    spread over several axes (``(g1, g2, C / (g1·g2))``: ResNeSt's radix softmax views its
    attention as ``(cardinality, radix, C)``)."""
    d = lab.dim
    if all(n == 1 for n in ishape[d + 1:]):  # (B, C, 1, 1) -> (B, g, C / g): the 1s go
        while len(oshape) > d + 1 and oshape[-1] == 1:
            oshape = oshape[:-1]
        ishape = ishape[:d + 1]
    k = len(oshape) - len(ishape)
    if k < 1 or oshape[:d] != ishape[:d] or oshape[d + k + 1:] != ishape[d + 1:] or \
            math.prod(oshape[d:d + k + 1]) != ishape[d]:
        return False
    graph = tracer.graph
    parts = graph.pieces(lab.segs, [oshape[d + k]] * math.prod(oshape[d:d + k]))
    if parts is None or not all(graph.unify(parts[0], p) for p in parts[1:]):
        return False
    tracer.set_label(out, Label(d + k, graph.resolve(parts[0])))
    return True

def getitem(tracer, args, kwargs, out):
    lab = _first_label(tracer, args)
    if lab is None or not isinstance(out, torch.Tensor):
        return
    index = args[1] if isinstance(args[1], tuple) else (args[1],)
    if any(isinstance(i, torch.Tensor) or isinstance(i, (list, bool)) for i in index):
        tracer.unsupported('indexing with tensors or lists', [lab])
        return
    n_real = sum(1 for i in index if i is not None and i is not Ellipsis)
    expanded = []
    for i in index:
        if i is Ellipsis:
            expanded.extend([slice(None)] * (args[0].dim() - n_real))
        else:
            expanded.append(i)
    in_dim, out_dim = 0, 0
    for i in expanded:
        if i is None:
            out_dim += 1
            continue
        if in_dim == lab.dim:
            segs = lab.segs if isinstance(i, slice) and i == slice(None) else \
                _channel_slice(tracer, lab, i, args[0].shape[lab.dim])
            if segs is not None:
                tracer.set_label(out, Label(out_dim, segs))
            else:
                tracer.label_fixed(args[0], out, 'slicing of the channel axis')
            return
        if not isinstance(i, int):
            out_dim += 1
        in_dim += 1
    tracer.set_label(out, Label(out_dim + lab.dim - in_dim, lab.segs))

def _channel_slice(tracer, lab, index, width):
    """Segments of ``x[:, a:b]`` with constant ``a`` and ``b``, or None (reported).

    The constants do not follow pruning, so the channels before ``a`` are fixed (the offset
    stays) and so are those taken when ``b`` ends inside the axis (the count stays); with an open
    end (``x[:, a:]``, or ``b`` past the width: it stays past it) the taken channels follow
    their groups. The channels after ``b`` are free. Boundaries inside a group split it.
    """
    if not isinstance(index, slice) or index.step not in (None, 1):
        tracer.unsupported('slicing of the channel axis with a step or an index', [lab])
        return None
    start, stop, _ = index.indices(width)
    open_end = index.stop is None or index.stop >= width
    if stop <= start:
        tracer.unsupported('empty slice of the channel axis', [lab])
        return None
    graph = tracer.graph
    parts = graph.pieces(lab.segs, [start, stop - start, width - stop])
    if parts is None:
        tracer.unsupported('slicing inside a repeated channel', [lab])
        return None
    before, taken, _ = parts
    for seg in before + (() if open_end else taken):
        graph.block(seg.node, f'slice x[:, {index.start}:{index.stop}] by constants in '
                              f'{tracer.where}')
    return taken


def split_like(tracer, args, kwargs, out):
    """split/chunk along the channels.

    ``chunk`` recomputes its parts from the tensor's width, so they stay equal only if they are
    pruned alike: their groups are tied. Explicit sizes (``split(x, [a, b])``) are constants:
    they are rewritten on export when they are a list attribute of the calling module (timm's
    ``MixedConv2d.splits``), else the groups are fixed. ``split`` by one size held by the calling
    module (Res2Net's ``width``) ties its parts as ``chunk`` does, and the export rewrites the
    size; by any other constant the groups are fixed. A part boundary inside a group splits the
    group into sub-groups (:meth:`ChannelGraph.cut`).
    """
    name = tracer.current_op
    lab = _first_label(tracer, args)
    if lab is None:
        return
    dim = args[2] if len(args) > 2 else kwargs.get('dim', 0)
    dim = dim % args[0].dim()
    parts = list(out)
    if dim != lab.dim:
        for p in parts:
            tracer.set_label(p, lab)
        return
    sizes = args[1] if len(args) > 1 else kwargs.get('split_size_or_sections',
                                                      kwargs.get('split_size'))
    attr, one_size = None, not isinstance(sizes, (list, tuple))
    if name == 'split' and len(parts) > 1:
        # sizes held by the calling module (timm's MixedConv2d.splits, Res2Net's width): the
        # export rewrites them; one size must name one attribute (small ints are shared objects)
        attr = _module_attribute(tracer, sizes, unique=one_size)
        if attr is None and one_size and all(p.shape[dim] == sizes for p in parts):
            attr = _whole_width_attribute(tracer, sizes * len(parts),
                                          tracer.module_input() is args[0])
        if attr is None:
            tracer.unsupported(f'{name} into constant sizes {sizes}', [lab])
            tracer.label_fixed(args[0], out, name)
            return
    pieces = tracer.graph.pieces(lab.segs, [p.shape[dim] for p in parts])
    if pieces is None:
        tracer.unsupported(f'{name} inside a repeated channel', [lab])
        tracer.label_fixed(args[0], out, name)
        return
    labels = [Label(dim, segs) for segs in pieces]
    if attr is not None and not one_size:
        tracer.graph.size_attributes.append((*attr, tuple(lab.segs for lab in labels)))
    elif len(parts) > 1 and not all(tracer.graph.unify(labels[0].segs, lab.segs)
                                    for lab in labels[1:]):
        # chunk, or split by one size: every part must keep the same channels
        tracer.unsupported(f'{name} into parts that cannot be pruned alike', [lab])
        return
    elif attr is not None:  # one size held by the module: rewritten to the parts' width
        # (the whole width when the module holds that: CSP's split(self.expand_chs // 2))
        whole = getattr(tracer.module(attr[0]), attr[1]) == sizes * len(parts) != sizes
        tracer.graph.size_attributes.append(
            (*attr, tuple(lab.segs for lab in labels) if whole else (labels[0].segs,)))
    for p, part in zip(parts, labels):
        tracer.set_label(p, Label(dim, tracer.graph.resolve(part.segs)))


def _whole_width_attribute(tracer, width: int, of_input: bool = False):
    """``(module name, attribute)`` of the one int attribute of the innermost running module
    equal to ``width`` (a split into equal parts by a size computed from it, CSP's
    ``split(self.expand_chs // 2)``); None when there is none or several. Where the split
    tensor is the module's input and several attributes hold the width, the one named for the
    input (``in_channels``: SK-Net's ``split(self.in_channels // self.num_paths)``, whose
    ``out_channels`` is equal). A wrong guess makes the export differ, which the check at trace
    time catches."""
    held = tracer.int_attributes(width)
    if held is None:
        return None
    name, found = held
    if len(found) > 1 and of_input:
        found = [attr for attr in found if attr.startswith('in_')]
    return (name, found[0]) if len(found) == 1 else None


def _module_attribute(tracer, value, unique: bool = False):
    """``(module name, attribute)`` of the innermost running module holding ``value``; with
    ``unique``, None when that module holds it under several names."""
    for mname in reversed(tracer.running_modules()):
        found = [attr for attr, v in vars(tracer.module(mname)).items() if v is value]
        if found:
            return (mname, found[0]) if len(found) == 1 or not unique else None
    return None
