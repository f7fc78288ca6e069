"""Channel groups of a model: what must be kept or removed together, found by one trace.

:func:`trace_groups` runs the model once (:mod:`.trace`) and turns the channel graph into
:class:`Group` s. Every pruning method works on these groups: it produces a
:class:`~gdpseg.core.plan.PruningPlan` (channels kept per group), and
:func:`~gdpseg.core.slicing.prune` exports it.
"""
import collections
import contextlib
import fnmatch
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence

import torch
import torch.nn as nn

from .graph import ChannelGraph, Seg
from .layers import handler_of
from .nested import iter_tensors


@dataclass(eq=False)
class Group:
    """Channels that are kept or removed together.

    Attributes:
        name: A readable name (the first producing layer, plus how many are coupled).
        size: Number of channels.
        prunable: False when the channels must stay (``reasons`` says why).
        reasons: Why the group is not prunable.
        producers: Layers whose output channels form the group.
        consumers: Layers that read the group through a weight (conv/linear: gated, and the
            plan's scales are folded into them).
        members: Channel-wise layers (norms, depthwise convs) that follow the group.
        root: The group's node in the channel graph.
        unit: Layer channels per channel of the group (a grouped conv's or GroupNorm's
            channels per conv/norm group; 1 otherwise).
    """
    name: str
    size: int
    prunable: bool
    reasons: List[str] = field(default_factory=list)
    producers: List[str] = field(default_factory=list)
    consumers: List[str] = field(default_factory=list)
    members: List[str] = field(default_factory=list)
    root: int = -1
    unit: int = 1

    @property
    def channels(self) -> int:
        """Channels of the layers producing the group."""
        return self.size * self.unit


class ChannelGroups:
    """The groups of one model, with the graph they come from and export options.

    Args:
        model: The traced model (not registered as a submodule of anything here).
        graph: Its channel graph.
        exclude: ``fnmatch`` patterns of layer names whose channels must not be pruned.
        min_channels: A group that keeps any channel keeps at least this many (it may lose
            all: a dead branch); a group this small or smaller is fixed.
        channel_multiple: Plans keep a multiple of this many channels per group (zero-scaled
            fillers), for faster kernels.
        flops_ignore: ``fnmatch`` patterns of layers traced for their channels but not run at
            inference (e.g. ``'auxiliary_head.*'``): left out of FLOPs.
    """

    def __init__(self, model: nn.Module, graph: ChannelGraph, exclude: Sequence[str] = (),
                 min_channels: int = 1, channel_multiple: int = 1,
                 flops_ignore: Sequence[str] = (), dead_calls: Sequence[int] = ()):
        if channel_multiple < 1:
            raise ValueError(f'channel_multiple must be >= 1, got {channel_multiple}')
        if min_channels < 1:
            raise ValueError(f'min_channels must be >= 1, got {min_channels}')
        self._model = [model]  # a list, so that the model is never registered as a submodule
        self.graph = graph
        self.min_channels = int(min_channels)
        self.channel_multiple = int(channel_multiple)
        self.flops_ignore = tuple(flops_ignore)
        # traced calls whose results no output uses (gdpseg.core.liveness): not FLOPs
        self.dead_calls = frozenset(dead_calls)
        # which pass trace_groups traced ('meta' or 'values'), and why a meta pass failed
        self.traced_on: str = 'values'
        self.meta_error = None
        self.groups: List[Group] = self._build(graph, tuple(exclude))
        self._index = {g.root: i for i, g in enumerate(self.groups)}
        self._hook_owners: list = []
        self._cache: Dict[str, object] = {}

    @property
    def model(self) -> nn.Module:
        return self._model[0]

    # ----------------------------------------------------------------- construction
    def _build(self, graph, exclude) -> List[Group]:
        roots = {}
        for rec in graph.modules.values():
            for s in (rec.in_segs or ()) + (rec.out_segs or ()):
                roots.setdefault(graph.find(s.node), None)
        producers: Dict[int, List[str]] = {r: [] for r in roots}
        consumers: Dict[int, List[str]] = {r: [] for r in roots}
        members: Dict[int, List[str]] = {r: [] for r in roots}
        for rec in graph.modules.values():
            excluded = any(fnmatch.fnmatchcase(rec.name, pat) for pat in exclude)
            touched = [graph.find(s.node) for s in rec.in_segs or ()]
            for s in rec.out_segs or ():
                if rec.name not in producers[graph.find(s.node)]:
                    producers[graph.find(s.node)].append(rec.name)
                touched.append(graph.find(s.node))
            readers = consumers if handler_of(rec.kind).consumer else members
            for root in {graph.find(s.node) for s in rec.in_segs or ()}:
                readers[root].append(rec.name)
            if excluded:
                for root in touched:
                    graph.block(root, f'excluded: {rec.name}')
        groups = []
        for root in graph.classes():
            if root not in roots:
                continue
            size = graph.sizes[root]
            reasons = list(graph.blocked_reasons(root))
            if not consumers[root] and not reasons:
                reasons.append('no conv/linear reads it')
            if size <= self.min_channels and not reasons:
                reasons.append(f'{size} channels <= min_channels={self.min_channels}')
            prods = producers[root]
            name = prods[0] if prods else 'input of ' + (consumers[root] or members[root])[0]
            if len(prods) > 1:
                name += f' (+{len(prods) - 1} coupled)'
            unit = graph.unit[root] if graph.unit else 1
            groups.append(Group(name, size, not reasons, reasons, prods, consumers[root],
                                members[root], root, unit))
        return groups

    def fix(self, i: int, reason: str) -> None:
        """Make group ``i`` non-prunable after the fact (see :mod:`gdpseg.core.verify`)."""
        g = self.groups[i]
        self.graph.block(g.root, reason)
        g.prunable = False
        g.reasons.append(reason)
        self._cache.clear()

    # ----------------------------------------------------------------- lookups
    def group_index(self, seg: Seg) -> int:
        """Position in ``groups`` of the group a segment's channels belong to."""
        return self._index[self.graph.find(seg.node)]

    def group_index_of_node(self, node: int) -> int:
        return self._index[self.graph.find(node)]

    def group_of(self, seg: Seg) -> Group:
        return self.groups[self.group_index(seg)]

    def along(self, segs, per_group: Callable[[int], torch.Tensor]) -> torch.Tensor:
        """A vector along a channel axis made of ``segs``: ``per_group(i)`` (one value per
        channel of group ``i``) for each segment, repeated where the axis expands a channel."""
        parts = []
        for s in segs:
            vec = per_group(self.group_index(s))
            parts.append(vec.repeat_interleave(s.expand) if s.expand > 1 else vec)
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def has_group(self, node: int) -> bool:
        """Whether a graph node belongs to one of the groups (not every node does)."""
        return self.graph.find(node) in self._index

    def by_name(self, name: str) -> Group:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(f'no group named {name!r}')

    def live_hooks(self, live_along: Callable) -> list:
        """Install the hooks that make every live-dependent member of a prunable group
        (LayerNorm, GRN over the channels) compute on its live channels alone;
        ``live_along(segs)`` gives the function returning the live mask along ``segs``.
        Returns the handles."""
        modules = dict(self.model.named_modules())
        handles = []
        for rec in self.graph.modules.values():
            handler = handler_of(rec.kind)
            if handler.live_dependent and any(self.group_of(s).prunable for s in rec.in_segs):
                handles += handler.live_hooks(modules[rec.name], rec, live_along(rec.in_segs))
        return handles

    def counted_calls(self):
        """Traced conv/linear calls that count towards FLOPs: not those in ``flops_ignore``,
        nor those whose results no output uses (``dead_calls``: mmengine and ONNX do not count
        them either, and pruning them would change nothing)."""
        return self.cached('counted_calls', lambda: [
            c for i, c in enumerate(self.graph.calls) if i not in self.dead_calls and
            not any(fnmatch.fnmatchcase(c.module, p) for p in self.flops_ignore)])

    def cached(self, key: str, build):
        """A value that depends on the graph only, computed once."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def cut_groups(self) -> List[int]:
        """Prunable groups that every path from the network input to some network output
        crosses (the stem, a residual trunk, a plain chain's layers): with all their channels
        removed, the output would no longer depend on the input."""
        return self.cached('cut_groups', self._cut_groups)

    def _flow(self):
        """The network as a graph of groups: edges (vertex → vertices it feeds), source and
        sink groups. Nodes outside the groups (outputs of unmodelled ops) are vertices too,
        keyed by root."""
        def build():
            def key(node):
                return self.group_index_of_node(node) if self.has_group(node) else \
                    ('node', self.graph.find(node))

            edges: Dict[object, set] = {}
            for rec in self.graph.modules.values():
                for o in rec.out_segs or ():
                    for s in rec.in_segs or ():
                        edges.setdefault(key(s.node), set()).add(key(o.node))
            for a, b in self.graph.links:
                edges.setdefault(key(a), set()).add(key(b))
            sources = [i for i, g in enumerate(self.groups) if 'network input' in g.reasons]
            sinks = [i for i, g in enumerate(self.groups) if 'network output' in g.reasons]
            return edges, sources, sinks
        return self.cached('flow', build)

    def _reached(self, removed) -> set:
        edges, sources, _ = self._flow()
        seen, todo = set(), [i for i in sources if i not in removed]
        while todo:
            i = todo.pop()
            if i in seen:
                continue
            seen.add(i)
            todo.extend(j for j in edges.get(i, ()) if j not in removed and j not in seen)
        return seen

    def connects(self, removed=()) -> bool:
        """Whether every network output still depends on the input with the groups
        ``removed`` (indices) taken out entirely."""
        _, sources, sinks = self._flow()
        if not sources or not sinks:
            return True  # nothing to tell: no traced input or output group
        seen = self._reached(set(removed))
        return all(j in seen for j in sinks)

    def _cut_groups(self) -> List[int]:
        if not self.connects():
            return []
        return [i for i, g in enumerate(self.groups) if g.prunable and not self.connects({i})]

    def reconnecting(self, dead, lost=()) -> set:
        """Groups of ``dead`` to keep alive so that every network output depends on the input
        again: for each output, the path that crosses the fewest dead groups (never a group
        of ``lost``, which cannot come back). Empty when the network is connected already,
        or when no path can reconnect it."""
        dead, lost = set(dead), set(lost)
        if self.connects(dead):
            return set()
        edges, sources, sinks = self._flow()
        # 0-1 breadth-first search: crossing a dead group costs 1, a live one 0
        cost, parent, queue = {}, {}, collections.deque()
        for i in sources:
            if i not in lost:
                c = int(i in dead)
                if c < cost.get(i, c + 1):
                    cost[i], parent[i] = c, None
                    (queue.appendleft if c == 0 else queue.append)(i)
        while queue:
            i = queue.popleft()
            for j in edges.get(i, ()):
                if j in lost:
                    continue
                c = cost[i] + int(j in dead)
                if c < cost.get(j, c + 1):
                    cost[j], parent[j] = c, i
                    (queue.appendleft if c == cost[i] else queue.append)(j)
        keep = set()
        for j in sinks:
            if j not in cost:
                return set()  # some output cannot be reconnected at all
            while j is not None:
                if j in dead:
                    keep.add(j)
                j = parent[j]
        return keep

    # ----------------------------------------------------------------- hooks of methods
    def register_hook_owner(self, owner) -> None:
        """A method's object that installs hooks on the model (``detach()``/``attach()``):
        export removes them while it copies the model."""
        self._hook_owners.append(owner)

    @contextlib.contextmanager
    def hooks_removed(self):
        """The model without any method's hooks, for the length of the block."""
        attached = [o for o in self._hook_owners if o.attached]
        for owner in attached:
            owner.detach()
        try:
            yield self.model
        finally:
            for owner in attached:
                owner.attach()

    # ----------------------------------------------------------------- sizes
    def full_flops(self) -> int:
        """conv+linear multiply-adds of the unpruned network (traced input)."""
        from .plan import full_plan, plan_flops
        return self.cached('full_flops', lambda: plan_flops(self, full_plan(self)))

    def full_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def signature(self) -> tuple:
        """Everything a plan, the export and the FLOPs model read from the groups: two traces
        of one model (e.g. on meta tensors and on values) agree when their signatures do."""
        return ([(g.name, g.size, g.prunable, tuple(g.reasons), g.unit, tuple(g.members))
                 for g in self.groups], self.full_flops(), self.full_params(),
                sorted(self.dead_calls), len(self.graph.calls))

    def summary(self, plan=None) -> str:
        """A table of groups: size, channels kept by ``plan`` (all when None), status."""
        from .plan import full_plan, plan_flops, resolve
        plan = resolve(self, plan if plan is not None else full_plan(self))
        lines = [f'{"group":60s} {"size":>6s} {"kept":>6s}  status']
        for g, k in zip(self.groups, plan.keep):
            status = 'prunable' if g.prunable else 'fixed: ' + '; '.join(g.reasons)
            if g.unit > 1:
                status += f' (in blocks of {g.unit} channels)'
            lines.append(f'{g.name[:60]:60s} {g.size:6d} {len(k):6d}  {status}')
        flops, full = plan_flops(self, plan), self.full_flops()
        total = sum(g.channels for g in self.groups)
        prunable = sum(g.channels for g in self.groups if g.prunable)
        lines.append(f'prunable: {sum(g.prunable for g in self.groups)} of {len(self.groups)} '
                     f'groups, {prunable:,} of {total:,} channels '
                     f'({100 * prunable / max(1, total):.1f} %)')
        lines.append(f'FLOPs {flops:,} / {full:,} ({100 * flops / full:.2f} %)')
        return '\n'.join(lines)


# Where trace_groups(meta_trace='auto') traces on meta tensors. Meta kernels cost ~0.1-3 ms per op
# whatever the size (batch norm and clamp run Python decompositions), real ones grow with it:
# smp DeepLabV3+ R50 at 512² (786k input elements) traces in 0.10 s on meta against 1.18 s on
# values; at the model sweep's inputs (up to 150k) values is faster in 71 of 94 models
# (tools/benchmark/attach_time.py and meta_trace.py, docs/core.md).
META_MIN_ELEMENTS = 2 ** 18


def trace_groups(model: nn.Module, example_inputs: tuple, forward_fn=None, strict: bool = False,
                 exclude: Sequence[str] = (), min_channels: int = 1, channel_multiple: int = 1,
                 flops_ignore: Sequence[str] = (), verify=True, meta_trace='auto'
                 ) -> ChannelGroups:
    """Find the channel groups of ``model`` from one forward pass (no gates, no hooks left).

    Args:
        model: Any ``nn.Module``; it is run once in eval mode on ``example_inputs``.
        example_inputs: A tuple of positional inputs.
        forward_fn: ``forward_fn(model, example_inputs)`` for models not called as
            ``model(*example_inputs)`` (e.g. ``lambda m, x: m(*x, mode='tensor')`` for mmseg).
        strict: Raise :class:`UnsupportedOpError` on an op the engine does not model,
            instead of keeping the channels it touches (with a warning).
        exclude, min_channels, channel_multiple, flops_ignore: see :class:`ChannelGroups`.
        verify: Export a random plan and compare it with the model on ``example_inputs``
            (:func:`~gdpseg.core.verify.verify_groups`): groups whose pruning the export gets
            wrong are fixed with a warning, so that a disagreement shows now, not after
            training. An image input is cropped for the check where the model runs on the
            crop (:func:`~gdpseg.core.verify.cropped_inputs`); ``verify='full'`` checks on
            ``example_inputs`` as they are.
        meta_trace: True: trace on meta tensors of the inputs' shapes (no values, no compute:
            :mod:`~gdpseg.core.meta`), and on the inputs' values only where the model cannot
            run on meta tensors. False: on the values. 'auto' (default): on meta tensors when
            the inputs hold at least ``META_MIN_ELEMENTS`` elements, where a real pass costs
            more than the meta kernels' fixed cost per op. ``groups.traced_on`` says which
            pass ran ('meta' or 'values'; the meta pass's error in ``groups.meta_error``).
    """
    from .meta import MetaStateError
    from .trace import UnsupportedOpError
    from .verify import verify_groups

    if not isinstance(example_inputs, tuple):
        raise TypeError('example_inputs must be a tuple of positional inputs, e.g. (x,)')
    if meta_trace not in (True, False, 'auto'):
        raise ValueError(f"meta_trace must be True, False or 'auto', got {meta_trace!r}")
    if meta_trace == 'auto':
        meta_trace = sum(t.numel() for t in iter_tensors(example_inputs)) >= META_MIN_ELEMENTS
    traced_on, meta_error = 'values', None
    if meta_trace:
        try:
            graph, issues, dead = _trace(model, example_inputs, forward_fn, strict, meta=True)
            traced_on = 'meta'
        except (UnsupportedOpError, MetaStateError):
            raise
        except Exception as err:  # noqa: BLE001  (any failure: the pass on values decides)
            meta_error = f'{type(err).__name__}: {err}'
    if traced_on != 'meta':
        graph, issues, dead = _trace(model, example_inputs, forward_fn, strict, meta=False)
    if dead:
        names = sorted({graph.calls[i].module for i in dead})
        warnings.warn(f'gdpseg: {len(dead)} conv/linear calls compute results no output uses '
                      f'({", ".join(names[:4])}{", ..." if len(names) > 4 else ""}): dead '
                      'compute, not counted in FLOPs (as mmengine and ONNX do not)',
                      stacklevel=2)
    groups = ChannelGroups(model, graph, exclude, min_channels, channel_multiple, flops_ignore,
                           dead)
    groups.traced_on, groups.meta_error = traced_on, meta_error
    reported = set()
    for issue in issues:
        key = (issue.op, issue.module)
        if key in reported:
            continue
        reported.add(key)
        names = sorted({groups.groups[groups.group_index_of_node(n)].name for n in issue.nodes
                        if groups.has_group(n)})
        warnings.warn(f'gdpseg: {issue.op} in {issue.module} is not modelled; channels of '
                      f'{", ".join(names) or "its inputs"} are kept (not prunable)', stacklevel=3)
    if verify not in (True, False, 'full'):
        raise ValueError(f"verify must be True, False or 'full', got {verify!r}")
    if verify:
        verify_groups(groups, example_inputs, forward_fn, crop=verify != 'full')
    return groups


def _trace(model, example_inputs, forward_fn, strict, meta):
    """``(graph, issues, dead calls)`` of one traced pass, on meta tensors or on the inputs."""
    from .liveness import OutputCapture
    from .meta import on_meta, to_meta
    from .trace import trace_channels

    with contextlib.ExitStack() as stack:
        if meta:
            stack.enter_context(on_meta(model))
            example_inputs = to_meta(example_inputs)
        # the trace's pass also tells what is dead compute
        capture = stack.enter_context(OutputCapture(model))
        graph, issues = trace_channels(model, example_inputs, forward_fn, strict,
                                       on_output=capture.set_outputs)
        dead = capture.dead_calls(graph.calls)
    return graph, issues, dead
