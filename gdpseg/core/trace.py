"""Build a :class:`ChannelGraph` from one real forward pass.

The pass runs under a :class:`torch.overrides.TorchFunctionMode`, which sees every torch function
and tensor method call with its real arguments. Tensors carry a :class:`Label` naming the nodes
their channels come from. Each op is handled by an explicit rule; an op without a rule that
touches labelled channels makes those channels non-prunable and is reported (or raises with
``strict=True``) -- nothing is guessed from shapes.

Rules are found in one place, in this order: the layer handlers registered for the function
(:mod:`gdpseg.core.layers`: conv, linear, norms, ...), then :data:`RULES` (ops that move or
combine channels without weights), then ``_IGNORED`` (calls without a channel result).
"""
import math
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

from .graph import ChannelGraph, Label, ModuleRecord, Seg, TraceIssue
from .layers import handlers_for


class UnsupportedOpError(RuntimeError):
    """Raised with ``strict=True`` when an op mixes channels in a way the engine does not model."""


# Ops that act on every channel independently and keep the channel axis where it is.
_CHANNELWISE = {
    'relu', 'relu_', 'relu6', 'hardtanh', 'hardtanh_', 'leaky_relu', 'leaky_relu_', 'elu',
    'elu_', 'selu', 'celu', 'gelu', 'silu', 'mish', 'softplus', 'sigmoid', 'sigmoid_', 'tanh',
    'tanh_', 'hardswish', 'hardsigmoid', 'prelu_scalar', 'dropout', 'dropout1d', 'dropout2d',
    'dropout3d', 'alpha_dropout', 'feature_alpha_dropout', 'contiguous', 'clone', 'detach',
    'float', 'half', 'double', 'bfloat16', 'to', 'type', 'type_as', 'abs', 'neg', '__neg__',
    'exp', 'log', 'sqrt', 'rsqrt', 'square', 'clamp', 'clamp_', 'clip', 'clamp_min',
    'clamp_max', 'interpolate', 'upsample', 'upsample_nearest', 'upsample_bilinear',
    'requires_grad_', 'cpu', 'cuda', 'zero_', 'fill_', 'sign', 'floor', 'ceil', 'round',
    'nan_to_num', 'softmax2d_spatial',
}
# Binary element-wise ops: broadcast, channels of both operands are paired one to one.
_BINARY = {
    'add', 'add_', '__add__', '__radd__', '__iadd__', 'sub', 'sub_', '__sub__', '__rsub__',
    '__isub__', 'mul', 'mul_', '__mul__', '__rmul__', '__imul__', 'div', 'div_', '__truediv__',
    '__rtruediv__', '__itruediv__', 'true_divide', 'maximum', 'minimum', 'pow', '__pow__',
    'addcmul', 'lerp', 'where', 'gt', 'lt', 'ge', 'le', 'ne', 'eq', '__gt__', '__lt__', '__ge__',
    '__le__', 'logical_and', 'logical_or', '__and__', '__or__',
}
# Calls with no tensor result worth tracking.
_IGNORED = {
    '__get__', 'size', 'dim', 'numel', '__len__', '__bool__', 'item', 'tolist', 'is_contiguous',
    'data_ptr', 'element_size', 'is_floating_point', 'get_device', '__format__', '__repr__',
    'stride', 'storage_offset', '__hash__', '__eq__', '__ne__', 'equal', 'isfinite', 'all',
    'any', 'backward', 'register_hook', 'retain_grad', 'new_zeros', 'new_ones', 'new_empty',
    'new_full', 'new_tensor', 'zeros_like', 'ones_like', 'empty_like', 'full_like', 'rand_like',
    'randn_like', '__setstate__', '__reduce_ex__', '__deepcopy__', 'is_complex', '__iter__',
    '__contains__', 'shape', 'device', 'dtype',
}
# Pooling in every dimension, with or without indices: channel-wise.
_POOLS = {f'{kind}_pool{d}d{suffix}' for d in (1, 2, 3) for kind, suffix in (
    ('max', ''), ('max', '_with_indices'), ('avg', ''), ('adaptive_avg', ''),
    ('adaptive_max', ''), ('adaptive_max', '_with_indices'), ('lp', ''),
    ('fractional_max', ''), ('fractional_max', '_with_indices'))} | {
    f'max_unpool{d}d' for d in (1, 2, 3)}


def _name(func) -> str:
    return getattr(func, '__name__', None) or str(func)


def iter_tensors(obj):
    """All tensors in a nested tuple/list/dict/dataclass (model outputs, op results)."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from iter_tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from iter_tensors(item)
    elif hasattr(obj, '__dataclass_fields__'):
        for key in obj.__dataclass_fields__:
            yield from iter_tensors(getattr(obj, key))


class ChannelTracer(TorchFunctionMode):
    """Records channel flow; use :func:`trace_channels` rather than this class directly."""

    def __init__(self, model: nn.Module, strict: bool = False):
        super().__init__()
        self.graph = ChannelGraph()
        self.strict = strict
        self.issues: List[TraceIssue] = []
        self._labels: Dict[int, tuple] = {}  # id(tensor) -> (tensor, Label); keeps ids unique
        self._stack: List[str] = []
        self._op = ''
        self._param_owner: Dict[int, tuple] = {}
        for mname, module in model.named_modules():
            for pname, p in list(module.named_parameters(recurse=False)) + \
                    list(module.named_buffers(recurse=False)):
                self._param_owner.setdefault(id(p), (mname, module, pname))
        self._hooks = []
        for mname, module in model.named_modules():
            self._hooks.append(module.register_forward_pre_hook(self._enter(mname)))
            self._hooks.append(module.register_forward_hook(self._leave, always_call=True))

    def _enter(self, name):
        def hook(module, args):
            self._stack.append(name)
        return hook

    def _leave(self, module, args, output):
        self._stack.pop()

    def remove_hooks(self):
        for h in self._hooks:
            h.remove()

    # ----------------------------------------------------------------- labels
    def label(self, t) -> Optional[Label]:
        if not isinstance(t, torch.Tensor):
            return None
        entry = self._labels.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else None

    def set_label(self, t, label: Optional[Label]):
        if isinstance(t, torch.Tensor) and label is not None:
            self._labels[id(t)] = (t, label)

    @property
    def where(self) -> str:
        return self._stack[-1] if self._stack and self._stack[-1] else '<top level>'

    def unsupported(self, op: str, labels, why: str = ''):
        nodes = [s.node for lab in labels if lab is not None for s in lab.segs]
        if not nodes:
            return
        if self.strict:
            raise UnsupportedOpError(
                f'{op} in {self.where} mixes channels in a way gdpseg does not model{why}. '
                'Exclude the module (exclude=...) or use strict=False to keep its channels.')
        for node in nodes:
            self.graph.block(node, f'{op} in {self.where}')
        self.issues.append(TraceIssue(op, self.where, nodes))

    # ----------------------------------------------------------------- dispatch
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = self._op = _name(func)
        if name in _IGNORED:
            return out
        for handler in handlers_for(name):
            if handler.match(self, args, kwargs, out):
                handler.trace(self, args, kwargs, out)
                return out
        rule = RULES.get(name)
        if rule is not None:
            rule(self, args, kwargs, out)
            return out
        labelled = [t for t in iter_tensors((args, kwargs)) if self.label(t) is not None]
        if labelled:
            self.unsupported(name, [self.label(t) for t in labelled])
            self._label_fixed(labelled[0], out, name, [self.label(t) for t in labelled[1:]])
        return out

    @property
    def current_op(self) -> str:
        """Name of the torch function being traced."""
        return self._op

    def _label_fixed(self, source, out, reason, also=()):
        """Give unlabelled outputs shaped like ``source`` one fixed node, so that layers
        downstream see one known, non-prunable group instead of an untracked tensor. The node
        is linked to the channels it comes from (``source`` and the labels in ``also``)."""
        lab = self.label(source)
        for t in iter_tensors(out):
            if self.label(t) is None and t.dim() == source.dim() and lab.dim < t.dim():
                node = self.graph.new_node(t.shape[lab.dim], f'output of {reason} in {self.where}')
                for other in (lab, *also):
                    for s in other.segs if other is not None else ():
                        self.graph.links.append((s.node, node))
                self.set_label(t, Label(lab.dim, (Seg(node),)))

    # ----------------------------------------------------------------- rules
    def _first_label(self, args):
        return self.label(args[0]) if args else None

    def _channelwise(self, args, kwargs, out):
        lab = self._first_label(args)
        if lab is None:
            return
        for t in iter_tensors(out):
            if t.dim() == args[0].dim() and t.shape[lab.dim] == args[0].shape[lab.dim]:
                self.set_label(t, lab)

    def _binary(self, args, kwargs, out):
        operands = [a for a in iter_tensors(args)]
        if not isinstance(out, torch.Tensor):
            return
        labels = [(t, self.label(t)) for t in operands if t.dim() > 0]
        result = None
        for t, lab in labels:
            if lab is None:
                continue
            pos = lab.dim + out.dim() - t.dim()
            if t.shape[lab.dim] == 1 and out.shape[pos] > 1:
                continue  # one channel broadcast over the others (an attention map): not paired
            if result is None:
                result = Label(pos, lab.segs)
            elif result.dim != pos or not self.graph.unify(result.segs, lab.segs):
                self.unsupported(self._op, [result, lab], ': operands pair channels unevenly')
                self._label_fixed(t, out, self._op, [result])
                return
        if result is None:
            return
        for t, lab in labels:
            if lab is not None:
                continue
            k = result.dim - (out.dim() - t.dim())
            if k >= 0 and t.shape[k] != 1:  # an untracked tensor with its own channels
                self.unsupported('element-wise op with an untracked tensor', [result])
                break
        self.set_label(out, result)

    def record_module(self, mname, kind, **fields) -> ModuleRecord:
        """The record of layer ``mname`` (created on its first call); a layer called again on
        other channels merges them, or fixes them when they cannot be merged."""
        rec = self.graph.modules.get(mname)
        if rec is None:
            rec = self.graph.modules[mname] = ModuleRecord(mname, kind, **fields)
            return rec
        if rec.in_segs is not None and fields.get('in_segs') is not None:
            if not self.graph.unify(rec.in_segs, fields['in_segs']):
                self.unsupported(f'{kind} reused on other channels', [Label(1, rec.in_segs)])
        return rec

    def owner(self, t):
        """``(module name, module, attribute)`` of a parameter or buffer, or None."""
        return self._param_owner.get(id(t)) if isinstance(t, torch.Tensor) else None

    def _cat_rule(self, args, kwargs, out):
        tensors = list(args[0]) if args else list(kwargs['tensors'])
        dim = args[1] if len(args) > 1 else kwargs.get('dim', 0)
        dim = dim % out.dim()
        labels = [self.label(t) for t in tensors]
        if all(lab is None for lab in labels):
            return
        if any(lab is not None and lab.dim == dim for lab in labels):
            segs = []
            for t, lab in zip(tensors, labels):
                if lab is not None and lab.dim == dim:
                    segs.extend(lab.segs)
                elif t.shape[dim] > 0:  # untracked channels: concatenated, never pruned
                    self.unsupported('concatenation with an untracked tensor', [lab])
                    segs.append(Seg(self.graph.new_node(t.shape[dim], 'untracked input')))
            self.set_label(out, Label(dim, tuple(segs)))
            return
        # Concatenation along another axis: channels of all parts are the same channels.
        self._binary_like(tensors, labels, out)


    def _binary_like(self, tensors, labels, out):
        known = [lab for lab in labels if lab is not None]
        base = known[0]
        for lab in known[1:]:
            if lab.dim != base.dim or not self.graph.unify(base.segs, lab.segs):
                self.unsupported('stack/cat of unevenly paired channels', known)
                return
        if len(known) != len(labels):
            self.unsupported('stack/cat with an untracked tensor', known)
            return
        self.set_label(out, base)

    def _stack_rule(self, args, kwargs, out):
        tensors = list(args[0]) if args else list(kwargs['tensors'])
        dim = args[1] if len(args) > 1 else kwargs.get('dim', 0)
        labels = [self.label(t) for t in tensors]
        if all(lab is None for lab in labels):
            return
        dim = dim % out.dim()
        self._binary_like(tensors, [None if lab is None else Label(
            lab.dim + (dim <= lab.dim), lab.segs) for lab in labels], out)

    def _reshape(self, args, kwargs, out):
        """view/reshape/flatten/(un)squeeze: the channel axis may only merge with the axes
        after it (flatten -> linear); splitting it or merging it with earlier axes is not
        modelled."""
        x = args[0]
        lab = self.label(x)
        if lab is None or not isinstance(out, torch.Tensor):
            return
        ishape, oshape = list(x.shape), list(out.shape)
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
                self.set_label(out, Label(j, tuple(Seg(s.node, s.expand * merged)
                                                   for s in lab.segs)))
                return
        self.unsupported('reshape that splits the channel axis', [lab])

    def _permute_rule(self, args, kwargs, out):
        lab = self._first_label(args)
        if lab is None:
            return
        dims = args[1:] if len(args) > 1 else kwargs['dims']
        if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
            dims = dims[0]
        dims = [d % out.dim() for d in dims]
        self.set_label(out, Label(dims.index(lab.dim), lab.segs))

    def _transpose_rule(self, args, kwargs, out):
        lab = self._first_label(args)
        if lab is None:
            return
        a, b = (d % out.dim() for d in args[1:3])
        new = b if lab.dim == a else a if lab.dim == b else lab.dim
        self.set_label(out, Label(new, lab.segs))

    def _reduce(self, args, kwargs, out):
        """mean/sum/amax over axes other than the channels."""
        name = self._op
        lab = self._first_label(args)
        if lab is None or not isinstance(out, torch.Tensor):
            return
        dims = args[1] if len(args) > 1 else kwargs.get('dim')
        keep = kwargs.get('keepdim', args[2] if len(args) > 2 and isinstance(args[2], bool)
                          else False)
        if dims is None:
            self.unsupported(f'{name} over all axes', [lab])
            return
        dims = [d % args[0].dim() for d in (dims if isinstance(dims, (list, tuple)) else [dims])]
        if lab.dim in dims:
            self.unsupported(f'{name} over the channel axis', [lab])
            return
        new = lab.dim if keep else lab.dim - sum(d < lab.dim for d in dims)
        self.set_label(out, Label(new, lab.segs))

    def _along_dim(self, args, kwargs, out):
        """softmax-like ops along one axis: fine unless it is the channel axis."""
        name = self._op
        lab = self._first_label(args)
        if lab is None:
            return
        dim = args[1] if len(args) > 1 else kwargs.get('dim')
        if dim is None or dim % args[0].dim() == lab.dim:
            self.unsupported(f'{name} over the channel axis', [lab])
            return
        self.set_label(out, lab)

    def _pad_rule(self, args, kwargs, out):
        lab = self._first_label(args)
        if lab is None:
            return
        pad = args[1] if len(args) > 1 else kwargs['pad']
        touched = args[0].dim() - 1 - (len(pad) // 2 - 1)  # first dim the padding reaches
        if touched <= lab.dim and any(pad[2 * (args[0].dim() - 1 - lab.dim):][:2]):
            self.unsupported('padding of the channel axis', [lab])
            self._label_fixed(args[0], out, 'padding of the channel axis')
            return
        self.set_label(out, lab)

    def _getitem_rule(self, args, kwargs, out):
        lab = self._first_label(args)
        if lab is None or not isinstance(out, torch.Tensor):
            return
        index = args[1] if isinstance(args[1], tuple) else (args[1],)
        if any(isinstance(i, torch.Tensor) or isinstance(i, (list, bool)) for i in index):
            self.unsupported('indexing with tensors or lists', [lab])
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
                if not (isinstance(i, slice) and i == slice(None)):
                    self.unsupported('slicing of the channel axis', [lab])
                    return
                self.set_label(out, Label(out_dim, lab.segs))
                return
            if not isinstance(i, int):
                out_dim += 1
            in_dim += 1
        self.set_label(out, Label(out_dim + lab.dim - in_dim, lab.segs))

    def _split_like(self, args, kwargs, out):
        """split/chunk: along the channels only at segment boundaries."""
        name = self._op
        lab = self._first_label(args)
        if lab is None:
            return
        dim = args[2] if len(args) > 2 else kwargs.get('dim', 0)
        dim = dim % args[0].dim()
        parts = list(out)
        if dim != lab.dim:
            for p in parts:
                self.set_label(p, lab)
            return
        offsets, pos = {}, 0
        for i, s in enumerate(lab.segs):
            offsets[pos] = i
            pos += self.graph.sizes[s.node] * s.expand
        offsets[pos] = len(lab.segs)
        start = 0
        for p in parts:
            stop = start + p.shape[dim]
            if start not in offsets or stop not in offsets:
                self.unsupported(f'{name} inside a channel group', [lab])
                return
            self.set_label(p, Label(dim, lab.segs[offsets[start]:offsets[stop]]))
            start = stop

    def _expand_rule(self, args, kwargs, out):
        lab = self._first_label(args)
        if lab is not None and out.shape[lab.dim + out.dim() - args[0].dim()] == \
                args[0].shape[lab.dim]:
            self.set_label(out, Label(lab.dim + out.dim() - args[0].dim(), lab.segs))
        elif lab is not None:
            self.unsupported('expand of the channel axis', [lab])



# Ops that move or combine channels without weights: name -> rule (after the layer handlers).
RULES: Dict[str, Callable] = {
    **{name: ChannelTracer._channelwise for name in _CHANNELWISE | _POOLS},
    **{name: ChannelTracer._binary for name in _BINARY},
    **{name: ChannelTracer._cat_rule for name in ('cat', 'concat', 'concatenate')},
    'stack': ChannelTracer._stack_rule,
    **{name: ChannelTracer._reshape for name in (
        'view', 'reshape', 'flatten', 'view_as', 'reshape_as', 'unsqueeze', 'squeeze')},
    'permute': ChannelTracer._permute_rule,
    'transpose': ChannelTracer._transpose_rule,
    **{name: ChannelTracer._reduce for name in ('mean', 'sum', 'amax')},
    **{name: ChannelTracer._along_dim for name in ('softmax', 'log_softmax')},
    'pad': ChannelTracer._pad_rule,
    '__getitem__': ChannelTracer._getitem_rule,
    **{name: ChannelTracer._split_like for name in ('split', 'chunk')},
    **{name: ChannelTracer._expand_rule for name in ('expand', 'expand_as')},
}


def trace_channels(model: nn.Module, example_inputs: tuple, forward_fn=None,
                   strict: bool = False):
    """Run ``model`` once in eval mode and record its channel graph.

    Returns:
        tuple: ``(graph, issues)`` -- the :class:`ChannelGraph` and the list of
        :class:`TraceIssue` for ops the engine does not model.
    """
    tracer = ChannelTracer(model, strict=strict)
    was_training = model.training
    model.eval()
    for t in iter_tensors(example_inputs):
        if t.dim() >= 2 and t.is_floating_point():  # batched input, channels on dim 1
            tracer.set_label(t, Label(1, (Seg(tracer.graph.new_node(t.shape[1],
                                                                   'network input')),)))
    try:
        with torch.no_grad(), tracer:
            out = forward_fn(model, example_inputs) if forward_fn else model(*example_inputs)
        for t in iter_tensors(out):
            lab = tracer.label(t)
            if lab is not None:
                for s in lab.segs:
                    tracer.graph.block(s.node, 'network output')
    finally:
        tracer.remove_hooks()
        model.train(was_training)
    return tracer.graph, tracer.issues
