"""Attention heads: the channels of a packed ``qkv`` projection split into heads, followed
through the attention to the output projection, so that whole heads can be pruned.

The pattern is the one of timm's ``Attention`` (ViT, DeiT and their relatives) with PyTorch's
fused attention::

    qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)           # or qkv[0], qkv[1], qkv[2] (mmpretrain)
    x = F.scaled_dot_product_attention(q, k, v)
    x = x.transpose(1, 2).reshape(B, N, self.attn_dim)
    x = self.proj(x)

The reshape splits the channel axis into ``(parts, heads, head_dim)``: each part (q, k, v)
becomes a node kept or removed in blocks of ``head_dim`` channels, and the tensor gets a
:class:`HeadLabel` (which axis holds the heads, which the channels within a head, which the
parts). ``scaled_dot_product_attention`` pairs head ``i`` of q, k and v (their blocks are tied:
one group, one channel per head), and the reshape that merges heads and head channels back gives
the output projection an ordinary channel label on v's node. The export rewrites the module
attributes holding the head count and the merged width (``num_heads``, ``attn_dim``).

Written out instead of fused (timm's unfused path, Swin), ``q @ k.transpose(-2, -1)`` gives an
attention map whose head axis is an ordinary channel axis on a node of one channel per head,
tied to the heads; a per-head bias gathered from a table is a member of it, and
``attention @ v`` gives v's heads back. Both products are counted per head. A projection per q,
k and v reshaped into ``(heads, head_dim)`` is read as heads where the module names its head
count (``num_heads``).

Only these ops are modelled on a tensor with heads (and the channel-wise ones that keep its
shape); any other op on it (a norm over the head channels, a per-head mask in the fused call)
fixes its heads and is traced as usual. So does a split into heads whose head count no
attribute of the module holds (a count computed from the input's width would not follow the
pruning).
"""
import math
from dataclasses import dataclass, replace
from typing import Optional, Tuple

import torch

from .graph import CallRecord, Label, Seg
from .nested import iter_tensors


@dataclass(frozen=True)
class HeadLabel:
    """Where the heads of a tensor are: ``nodes`` (one per part: q, k, v, or one once the parts
    are separated), the axis of the parts (None when separated), the axis of the heads and the
    axis of the channels within a head."""
    nodes: Tuple[int, ...]
    part_axis: Optional[int]
    head_axis: int
    dim_axis: int
    head_dim: int


# element-wise ops that keep a tensor's shape (and with it where its heads are)
_KEEP = {'contiguous', 'clone', 'to', 'float', 'half', 'bfloat16', 'double', 'type_as',
         'detach', 'dropout', 'mul', '__mul__', '__rmul__', 'div', '__truediv__'}


def _block(tracer, op, lab: HeadLabel):
    tracer.unsupported(op, [Label(0, tuple(Seg(n) for n in lab.nodes))])


def _int_attribute(tracer, value: int, prefer: str, avoid: str = ''):
    """``(module, attribute)`` of the int attribute of the innermost running module equal to
    ``value`` (the one whose name contains ``prefer``, then not ``avoid``, when several are),
    or None."""
    held = tracer.int_attributes(value)
    if held is None:
        return None
    name, found = held
    if len(found) > 1:
        found = [a for a in found if prefer in a]
    if len(found) > 1:  # mmpretrain's input_dims beside embed_dims: the input's width
        found = [a for a in found if not a.startswith('in')]
    if len(found) > 1 and avoid:  # num_heads beside an equal head_dim
        found = [a for a in found if avoid not in a]
    return (name, found[0]) if len(found) == 1 else None


def split_heads(tracer, lab: Label, args, ishape, oshape, out) -> bool:
    """``reshape`` of the channel axis (the last) into ``(parts, heads, head_dim)``, 2 or 3
    parts (packed kv or qkv), or into ``(heads, head_dim)`` where the module holds the head
    count in an attribute named for heads (one projection per q, k, v:
    :class:`~gdpseg.core.unfused_attention.UnfusedMultiheadAttention`; without such a name the
    split is read as a channel shuffle): label the result with its heads. False when it is not
    that."""
    d = lab.dim
    if d != len(ishape) - 1 or oshape[:d] != ishape[:d]:
        return False
    if len(oshape) == len(ishape) + 1:
        heads, head_dim = oshape[d:]
        held = tracer.int_attributes(heads)
        named = held is not None and any('head' in a for a in held[1])
        if not named or heads * head_dim != ishape[d] or len(lab.segs) != 1 or \
                lab.segs[0].expand != 1:
            return False
        parts = 1
    elif len(oshape) == len(ishape) + 2:
        parts, heads, head_dim = oshape[d:]
    else:
        return False
    if parts not in (1, 2, 3) or heads < 1 or parts * heads * head_dim != ishape[d]:
        return False
    graph = tracer.graph
    pieces = graph.pieces(lab.segs, [heads * head_dim] * parts)
    if pieces is None or any(len(p) != 1 or p[0].expand != 1 for p in pieces):
        return False
    sizes = [a for a in args[1:] if isinstance(a, int)] if len(args) > 1 else []
    if len(args) == 2 and isinstance(args[1], (tuple, list)):
        sizes = list(args[1])
    attr = None
    if heads in sizes:  # the count is a constant: the export must rewrite where it comes from
        attr = _int_attribute(tracer, heads, 'head', avoid='dim')
        if attr is None:
            return False
    nodes = tuple(p[0].node for p in pieces)
    for n in nodes:
        graph.require_block(n, head_dim)
    if attr is not None:
        graph.size_attributes.append((*attr, ((Seg(nodes[0]),),)))
        graph.attribute_units[attr] = head_dim
    if parts == 1:
        tracer.set_head_label(out, HeadLabel(nodes, None, d, d + 1, head_dim))
    else:
        tracer.set_head_label(out, HeadLabel(nodes, d, d + 1, d + 2, head_dim))
    return True


def _permute(tracer, lab, args, kwargs, out):
    dims = args[1:] if len(args) > 1 else kwargs['dims']
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = dims[0]
    dims = [d % out.dim() for d in dims]
    where = {old: new for new, old in enumerate(dims)}
    return replace(lab, part_axis=None if lab.part_axis is None else where[lab.part_axis],
                   head_axis=where[lab.head_axis], dim_axis=where[lab.dim_axis])


def _transpose(tracer, lab, args, kwargs, out):
    a, b = (d % out.dim() for d in args[1:3])

    def move(axis):
        return None if axis is None else b if axis == a else a if axis == b else axis
    return replace(lab, part_axis=move(lab.part_axis), head_axis=move(lab.head_axis),
                   dim_axis=move(lab.dim_axis))


def _unbind(tracer, lab, args, kwargs, out):
    dim = (args[1] if len(args) > 1 else kwargs.get('dim', 0)) % args[0].dim()
    if dim != lab.part_axis or len(out) != len(lab.nodes):
        return None

    def after(axis):
        return axis - (axis > dim)
    for t, node in zip(out, lab.nodes):
        tracer.set_head_label(t, HeadLabel((node,), None, after(lab.head_axis),
                                           after(lab.dim_axis), lab.head_dim))
    return True


def _take_part(tracer, lab, args, kwargs, out):
    """``qkv[i]`` (mmpretrain's ``q, k, v = qkv[0], qkv[1], qkv[2]``): part ``i``."""
    index = args[1]
    if lab.part_axis != 0 or type(index) is not int or not isinstance(out, torch.Tensor):
        return None
    tracer.set_head_label(out, HeadLabel((lab.nodes[index],), None, lab.head_axis - 1,
                                         lab.dim_axis - 1, lab.head_dim))
    return True


def _attention(tracer, labs, args, kwargs, out):
    """``scaled_dot_product_attention(q, k, v)``: head ``i`` of q, k and v are one head."""
    names = ('query', 'key', 'value')
    tensors = [args[i] if len(args) > i else kwargs.get(n) for i, n in enumerate(names)]
    q, k, v = (labs.get(id(t)) for t in tensors)
    mask = args[3] if len(args) > 3 else kwargs.get('attn_mask')
    ok = all(lab is not None and lab.part_axis is None and len(lab.nodes) == 1
             for lab in (q, k, v)) and q.head_axis == k.head_axis == v.head_axis and \
        q.dim_axis == k.dim_axis == v.dim_axis == tensors[0].dim() - 1 and \
        kwargs.get('enable_gqa', False) is False
    if ok and isinstance(mask, torch.Tensor) and mask.dim() > q.head_axis and \
            mask.shape[q.head_axis - (tensors[0].dim() - mask.dim())] != 1:
        ok = False  # a mask (a bias) per head: it would have to be pruned with the heads
    if not ok:
        return None
    graph = tracer.graph
    graph.tie_blocks(q.nodes[0], q.head_dim, k.nodes[0], k.head_dim)
    graph.tie_blocks(q.nodes[0], q.head_dim, v.nodes[0], v.head_dim)
    tracer.set_head_label(out, replace(v))
    return True


def _product(tracer, name, args, out):
    """``q @ k.transpose(-2, -1)`` and ``attention @ v`` written out (timm's unfused path,
    Swin): the attention map's head axis is an ordinary channel axis on a node of one channel
    per head, tied to the heads of q, k and v; per-head operands of the map (Swin's relative
    position bias, a parameter with one column per head) are members of it. Both products are
    counted per head."""
    if name not in ('matmul', '__matmul__') or len(args) != 2:
        return None
    a, b = args
    ha, hb, la = tracer.head_label(a), tracer.head_label(b), tracer.label(a)
    if hb is None or hb.part_axis is not None or len(hb.nodes) != 1 or \
            not isinstance(out, torch.Tensor) or out.dim() != b.dim():
        return None
    graph = tracer.graph
    axis = hb.head_axis
    heads = b.shape[axis]
    if ha is not None and ha.part_axis is None and len(ha.nodes) == 1 and \
            ha.head_axis == axis and ha.dim_axis == a.dim() - 1 and hb.dim_axis == b.dim() - 2:
        node = graph.new_node(heads)  # q @ k^T: the map, one channel per head
        graph.tie_blocks(ha.nodes[0], ha.head_dim, hb.nodes[0], hb.head_dim)
        graph.tie_blocks(ha.nodes[0], ha.head_dim, node, 1)
        tracer.set_label(out, Label(axis, (Seg(node),)))
    elif ha is None and la is not None and la.dim == axis and len(la.segs) == 1 and \
            la.segs[0].expand == 1 and graph.sizes[la.segs[0].node] == heads and \
            hb.dim_axis == b.dim() - 1:
        node = la.segs[0].node  # map @ v: v's heads
        graph.tie_blocks(node, 1, hb.nodes[0], hb.head_dim)
        tracer.set_head_label(out, replace(hb))
    else:
        return None
    rows = a.shape if a.dim() > 1 else (1, a.shape[0])
    total = math.prod(rows) * b.shape[-1]
    tracer.graph.calls.append(CallRecord(tracer.where, 'head_matmul', total // heads,
                                         (Seg(node),), (), in_shape=tuple(a.shape),
                                         out_shape=tuple(out.shape)))
    return True


def _merge(tracer, lab, args, kwargs, out):
    """``reshape`` that merges the heads with the channels of each head (heads first): an
    ordinary channel axis on the node; a constant width is rewritten on export."""
    x = args[0]
    if lab.part_axis is not None or lab.dim_axis != lab.head_axis + 1 or \
            lab.dim_axis != x.dim() - 1 or out.dim() != x.dim() - 1 or \
            list(out.shape[:lab.head_axis]) != list(x.shape[:lab.head_axis]):
        return None
    width = x.shape[lab.head_axis] * x.shape[lab.dim_axis]
    sizes = list(args[1]) if len(args) == 2 and isinstance(args[1], (tuple, list)) else \
        [a for a in args[1:] if isinstance(a, int)]
    node = lab.nodes[0]
    if width in sizes:
        attr = _int_attribute(tracer, width, 'dim')
        if attr is None:
            return None
        tracer.graph.size_attributes.append((*attr, ((Seg(node),),)))
    tracer.set_label(out, Label(lab.head_axis, (Seg(node),)))
    return True


_RULES = {
    'permute': _permute, 'transpose': _transpose, 'swapaxes': _transpose,
}


def trace_heads(tracer, name: str, args, kwargs, out) -> bool:
    """The rule for an op one of whose arguments has heads (see the module's docstring).

    Returns:
        bool: Whether the op was modelled. If not, the heads it read are fixed and the op is
        traced as usual (a ``matmul`` is still counted); its arguments' heads are not seen
        there.
    """
    labs = {id(t): tracer.head_label(t) for t in iter_tensors((args, kwargs))
            if tracer.head_label(t) is not None}
    first = tracer.head_label(args[0]) if args else None
    done = None
    if name == 'scaled_dot_product_attention':
        done = _attention(tracer, labs, args, kwargs, out)
    elif name in ('matmul', '__matmul__'):
        done = _product(tracer, name, args, out)
    elif first is not None and len(labs) == 1:
        if name in _RULES:
            tracer.set_head_label(out, _RULES[name](tracer, first, args, kwargs, out))
            done = True
        elif name == 'unbind':
            done = _unbind(tracer, first, args, kwargs, out)
        elif name == '__getitem__':
            done = _take_part(tracer, first, args, kwargs, out)
        elif name in ('reshape', 'view', 'flatten'):
            if name == 'flatten':
                start = args[1] if len(args) > 1 else kwargs.get('start_dim', 0)
                end = args[2] if len(args) > 2 else kwargs.get('end_dim', -1)
                done = None if (start % args[0].dim(), end % args[0].dim()) != \
                    (first.head_axis, first.dim_axis) else \
                    _merge(tracer, first, (args[0], -1), {}, out)
            else:
                done = _merge(tracer, first, args, kwargs, out)
        elif name in _KEEP and isinstance(out, torch.Tensor) and \
                out.shape == args[0].shape and \
                all(not isinstance(a, torch.Tensor) or a is args[0] or a.numel() == 1
                    for a in list(args[1:]) + list(kwargs.values())):
            tracer.set_head_label(out, first)
            done = True
    if done is None:
        for lab in labs.values():
            _block(tracer, f'{name} of attention heads', lab)
    return done is not None

