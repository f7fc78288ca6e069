"""Build a :class:`ChannelGraph` from one real forward pass.

The pass runs under a :class:`torch.overrides.TorchFunctionMode`, which sees every torch function
and tensor method call with its real arguments. Tensors carry a :class:`Label` naming the nodes
their channels come from. Each op is handled by an explicit rule; an op without a rule that
touches labelled channels makes those channels non-prunable and is reported (or raises with
``strict=True``) -- nothing is guessed from shapes.

Custom autograd functions (``torch.autograd.Function.apply``, e.g. mmcv's RoIAlign) call their
compiled code where no mode can see it. The pass therefore runs with autograd on: a tensor that
comes out of such a function without a label is found by its backward node, and the channels of
every labelled tensor that node reaches are fixed, like those of any other unmodelled op.

Rules are found in one place, in this order: ``_IGNORED`` (calls without a channel result), the
layer handlers registered for the function (:mod:`gdpseg.core.layers`: conv, linear, norms, ...),
then :data:`gdpseg.core.rules.RULES` (ops that move or combine channels without weights).
"""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from torch.autograd.function import BackwardCFunction
from torch.overrides import TorchFunctionMode

from .forward import call_forward
from .graph import ChannelGraph, Label, ModuleRecord, Seg, TraceIssue
from .heads import trace_heads
from .layers import handlers_for
from .nested import iter_tensors
from .rules import RULES


class UnsupportedOpError(RuntimeError):
    """Raised with ``strict=True`` when an op mixes channels in a way the engine does not model."""


# Ops whose result, applied to a parameter, is still that parameter's values (layer scale).
_PARAM_VIEWS = {'view', 'reshape', 'unsqueeze', 'squeeze', 'flatten', 'expand', 'expand_as',
                'permute', 'transpose',
                'view_as', 'reshape_as', '__getitem__', 'to', 'type_as', 'contiguous', 'float',
                'half'}

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
def _name(func) -> str:
    return getattr(func, '__name__', None) or str(func)


class ChannelTracer(TorchFunctionMode):
    """Records channel flow; use :func:`trace_channels` rather than this class directly."""

    def __init__(self, model: nn.Module, strict: bool = False):
        super().__init__()
        self.graph = ChannelGraph()
        self.strict = strict
        self.issues: List[TraceIssue] = []
        self._labels: Dict[int, tuple] = {}  # id(tensor) -> (tensor, Label); keeps ids unique
        self._heads: Dict[int, tuple] = {}  # id(tensor) -> (tensor, HeadLabel): see .heads
        self._by_grad_node: Dict[object, Label] = {}  # autograd node of a labelled tensor
        self._opaque_seen: set = set()  # backward nodes of custom functions already handled
        self._param_views: Dict[int, tuple] = {}  # id(view of a parameter) -> (view, owner)
        self._stack: List[str] = []
        self._inputs: List[object] = []  # first argument of each running module
        self._op = ''
        self._modules = dict(model.named_modules())
        self._param_owner: Dict[int, tuple] = {}
        for mname, module in self._modules.items():
            for pname, p in list(module.named_parameters(recurse=False)) + \
                    list(module.named_buffers(recurse=False)):
                self._param_owner.setdefault(id(p), (mname, module, pname))
        self._hooks = []
        for mname, module in self._modules.items():
            self._hooks.append(module.register_forward_pre_hook(self._enter(mname)))
            self._hooks.append(module.register_forward_hook(self._leave, always_call=True))

    def _enter(self, name):
        def hook(module, args):
            self._stack.append(name)
            self._inputs.append(args[0] if args else None)
        return hook

    def _leave(self, module, args, output):
        self.find_opaque(output)
        self._stack.pop()
        self._inputs.pop()

    def remove_hooks(self):
        for h in self._hooks:
            h.remove()

    # ----------------------------------------------------------------- labels
    def label(self, t) -> Optional[Label]:
        if not isinstance(t, torch.Tensor):
            return None
        entry = self._labels.get(id(t))
        if entry is None or entry[0] is not t:
            return None
        lab = entry[1]
        return Label(lab.dim, self.graph.resolve(lab.segs)) if self.graph.has_splits else lab

    def set_label(self, t, label: Optional[Label]):
        if isinstance(t, torch.Tensor) and label is not None:
            self._labels[id(t)] = (t, label)
            if t.grad_fn is not None:
                self._by_grad_node[t.grad_fn] = label

    def head_label(self, t):
        """The :class:`~gdpseg.core.heads.HeadLabel` of a tensor split into attention heads."""
        entry = self._heads.get(id(t)) if isinstance(t, torch.Tensor) else None
        return entry[1] if entry is not None and entry[0] is t else None

    def set_head_label(self, t, label) -> None:
        if isinstance(t, torch.Tensor) and label is not None:
            self._heads[id(t)] = (t, label)

    # ----------------------------------------------------------------- opaque functions
    def find_opaque(self, tensors) -> None:
        """Handle unlabelled outputs of custom autograd functions among ``tensors``."""
        for t in iter_tensors(tensors):
            fn = t.grad_fn
            if isinstance(fn, BackwardCFunction) and fn not in self._opaque_seen and \
                    self.label(t) is None:
                self._opaque_seen.add(fn)
                op = f'custom autograd function {type(fn).__name__.removesuffix("Backward")}'
                read = self._labels_reached(fn)
                self.unsupported(op, read, ' (its forward is not visible to the trace)')
                if t.dim() >= 2:  # the output's channels: one fixed node, linked to the inputs
                    node = self.graph.new_node(t.shape[1], f'output of {op} in {self.where}')
                    for lab in read:
                        for s in lab.segs:
                            self.graph.links.append((s.node, node))
                    self.set_label(t, Label(1, (Seg(node),)))

    def _labels_reached(self, fn) -> List[Label]:
        """Labels of the tensors a backward node depends on (through unlabelled tensors)."""
        found, seen, todo = [], set(), [fn]
        while todo:
            node = todo.pop()
            for nxt, _ in node.next_functions:
                if nxt is None or nxt in seen:
                    continue
                seen.add(nxt)
                lab = self._by_grad_node.get(nxt)
                if lab is None and hasattr(nxt, 'variable'):  # a leaf (the network input)
                    lab = self.label(nxt.variable)
                if lab is not None:
                    found.append(lab)
                else:
                    todo.append(nxt)
        return found

    def running_modules(self) -> List[str]:
        """Names of the modules whose forward is running, outermost first."""
        return list(self._stack)

    def int_attributes(self, value: int):
        """``(name, attributes)`` of the innermost running module and its int attributes
        equal to ``value`` (sizes it holds: split sizes, head counts), or None outside
        modules."""
        if not self._stack:
            return None
        name = self._stack[-1]
        return name, [a for a, v in vars(self._modules[name]).items()
                      if type(v) is int and v == value]

    def module_input(self):
        """The first argument of the innermost running module (None outside modules)."""
        return self._inputs[-1] if self._inputs else None

    def module(self, name: str) -> nn.Module:
        return self._modules[name]

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
        self.find_opaque((args, kwargs))
        out = func(*args, **kwargs)
        name = self._op = _name(func)
        if name in _IGNORED:
            return out
        if name in _PARAM_VIEWS and args and isinstance(out, torch.Tensor):
            src = self.param_source(args[0])
            if src is not None:
                self._param_views[id(out)] = (out, src)
        if self._heads and any(self.head_label(t) is not None
                               for t in iter_tensors((args, kwargs))) and \
                trace_heads(self, name, args, kwargs, out):  # a tensor split into heads
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
            self.label_fixed(labelled[0], out, name, [self.label(t) for t in labelled[1:]])
        return out

    @property
    def current_op(self) -> str:
        """Name of the torch function being traced."""
        return self._op

    def label_fixed(self, source, out, reason, also=()):
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

    def record_module(self, mname, kind, **fields) -> ModuleRecord:
        """The record of layer ``mname`` (created on its first call); a layer called again on
        other channels merges them, or fixes them when they cannot be merged."""
        rec = self.graph.modules.get(mname)
        if rec is None:
            rec = self.graph.modules[mname] = ModuleRecord(mname, kind, **fields)
            return rec
        if rec.in_segs is not None and fields.get('in_segs') is not None:
            rec.in_segs = self.graph.resolve(rec.in_segs)
            if not self.graph.unify(rec.in_segs, fields['in_segs']):
                self.unsupported(f'{kind} reused on other channels', [Label(1, rec.in_segs)])
        return rec

    def owner(self, t):
        """``(module name, module, attribute)`` of a parameter or buffer, or None."""
        return self._param_owner.get(id(t)) if isinstance(t, torch.Tensor) else None

    def param_source(self, t):
        """:meth:`owner` of a parameter or of a view of one (``gamma.view(1, -1, 1, 1)``)."""
        if not isinstance(t, torch.Tensor):
            return None
        entry = self._param_views.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else self.owner(t)

def trace_channels(model: nn.Module, example_inputs: tuple, forward_fn=None,
                   strict: bool = False, on_output=None):
    """Run ``model`` once in eval mode and record its channel graph; ``on_output(out)``, when
    given, sees the pass's outputs (with their autograd graph).

    Returns:
        tuple: ``(graph, issues)`` -- the :class:`ChannelGraph` and the list of
        :class:`TraceIssue` for ops the engine does not model.
    """
    tracer = ChannelTracer(model, strict=strict)
    was_training = model.training
    model.eval()
    # Autograd stays on (custom functions are found by their backward nodes): the batched float
    # inputs are replaced by copies that require grad, so that every feature map has a node.
    inputs = tuple(x.detach().requires_grad_().clone() if isinstance(x, torch.Tensor) and
                   x.dim() >= 2 and x.is_floating_point() else x for x in example_inputs)
    for t in iter_tensors(inputs):
        if t.dim() >= 2 and t.is_floating_point():  # batched input, channels on dim 1
            tracer.set_label(t, Label(1, (Seg(tracer.graph.new_node(t.shape[1],
                                                                   'network input')),)))
    try:
        with torch.enable_grad(), tracer:
            out = call_forward(model, inputs, forward_fn)
            tracer.find_opaque(out)
        if on_output is not None:
            on_output(out)
        for t in iter_tensors(out):
            lab, heads = tracer.label(t), tracer.head_label(t)
            if lab is not None:
                for s in lab.segs:
                    tracer.graph.block(s.node, 'network output')
            for node in heads.nodes if heads is not None else ():  # q, k or v returned
                tracer.graph.block(node, 'network output')
        tracer.graph.finalize()
    finally:
        tracer.remove_hooks()
        model.train(was_training)
    return tracer.graph, tracer.issues
