"""Channel graph: which channels of which layers must be kept or removed together.

Every conv/linear output is a *node* of channels. Nodes are merged (union-find) when element-wise
ops add or multiply them channel by channel; a merged class of nodes is one *group* and gets one
gate vector. A tensor's channel axis is described by a :class:`Label`: the concatenation of
segments, each a node whose channels may be repeated ``expand`` times in a row (flatten -> linear).

Two refinements keep groups as large as the model allows:

* a node can be *split* into consecutive sub-nodes (:meth:`ChannelGraph.refine`) when channels
  are paired or split at a boundary inside it (an SE product over a concatenation, ``chunk`` of
  one conv's output): every node of its class is split alike, and labels are read through the
  split (:meth:`ChannelGraph.resolve`);
* a class can be kept or removed only in *blocks* of channels (grouped convs, GroupNorm):
  :meth:`ChannelGraph.finalize` makes every block one channel of the group.
"""
import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Tuple


@dataclass(frozen=True)
class Seg:
    """``size(node) * expand`` consecutive channels: each channel of ``node``, ``expand`` times."""
    node: int
    expand: int = 1


@dataclass(frozen=True)
class Label:
    """Where a tensor's channels come from: its channel dimension and the segments along it."""
    dim: int
    segs: Tuple[Seg, ...]


@dataclass
class ModuleRecord:
    """What the trace saw a layer do with channels.

    ``kind`` names the :class:`~gdpseg.core.layers.LayerHandler` that knows the layer: a
    producer (``out_node`` set) and/or a reader of ``in_segs``.
    """
    name: str
    kind: str
    in_segs: Optional[Tuple[Seg, ...]] = None
    out_node: Optional[int] = None
    out_segs: Optional[Tuple[Seg, ...]] = None  # the output's segments, set by finalize()
    tied_node: Optional[int] = None  # a member's output node tied to its input (grouped conv)
    # a channel_param member's parameters: name -> channel axis (empty: its only long axis)
    params: Dict[str, Tuple[int, ...]] = field(default_factory=dict)
    transposed: bool = False
    in_numel: int = 0  # elements of one sample's input, to choose how the gate is applied
    in_spatial: Tuple[int, ...] = ()  # spatial size of the traced input and output
    out_spatial: Tuple[int, ...] = ()
    channel_axes: Tuple[int, ...] = ()  # a live-dependent member's channel axis: (input, output)


@dataclass
class CallRecord:
    """One traced call of a counted layer (conv/linear), with everything a resource model needs.

    ``coef`` is the multiply-adds per input-output channel pair of a dense call (so a dense
    layer costs ``coef * C_in * C_out``); the handler of ``kind`` says how it is counted.
    """
    module: str
    kind: str
    coef: int
    in_segs: Tuple[Seg, ...]
    out_segs: Tuple[Seg, ...]
    in_shape: Tuple[int, ...] = ()
    out_shape: Tuple[int, ...] = ()
    kernel: Tuple[int, ...] = ()
    stride: Tuple[int, ...] = ()
    padding: Tuple[int, ...] = ()
    dilation: Tuple[int, ...] = ()
    groups: int = 1
    transposed: bool = False


class ChannelGraph:
    """Nodes with union-find, per-class reasons that forbid pruning, and module/call records."""

    def __init__(self):
        self.sizes: List[int] = []
        self._parent: List[int] = []
        self._blocked: Dict[int, List[str]] = {}
        self.modules: Dict[str, ModuleRecord] = {}
        self.calls: List[CallRecord] = []
        # (from, to): channels of ``to`` are computed from those of ``from`` by an op that is
        # not modelled channel by channel (its output is a fixed node)
        self.links: List[Tuple[int, int]] = []
        # (module, attribute, segments of each part): a list of channel sizes the module keeps
        # (explicit split sizes); export rewrites it with the widths the plan keeps
        self.size_attributes: List[Tuple[str, str, Tuple[Tuple[Seg, ...], ...]]] = []
        # (module, attribute) -> channels per unit of such an attribute: it counts units of
        # its parts' channels (a head count: channels / head_dim)
        self.attribute_units: Dict[Tuple[str, str], int] = {}
        # channels per unit of a class (root -> block): grouped layers keep or remove whole
        # blocks; finalize() makes every block one channel of the group
        self._block: Dict[int, int] = {}
        # (a, block_a, b, block_b): block i of a's class is block i of b's (grouped convs)
        self._ties: List[Tuple[int, int, int, int]] = []
        self._within: Dict[int, Tuple[ModuleRecord, str]] = {}  # tie index -> (record, kind)
        self._split: Dict[int, Tuple[int, ...]] = {}  # node -> its consecutive sub-nodes
        self.unit: List[int] = []  # per node, layer channels per channel (set by finalize)

    # ----------------------------------------------------------------- nodes and classes
    def new_node(self, size: int, blocked: Optional[str] = None) -> int:
        self.sizes.append(int(size))
        self._parent.append(len(self._parent))
        node = len(self.sizes) - 1
        if blocked:
            self.block(node, blocked)
        return node

    def find(self, node: int) -> int:
        root = node
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[node] != root:  # path compression
            self._parent[node], node = root, self._parent[node]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        assert self.sizes[ra] == self.sizes[rb], 'only equal-sized nodes are merged'
        self._parent[rb] = ra
        if rb in self._blocked:
            self._blocked.setdefault(ra, []).extend(self._blocked.pop(rb))
        if rb in self._block:
            self.require_block(ra, self._block.pop(rb))

    def block(self, node: int, reason: str) -> None:
        for leaf in self._leaves(node):
            reasons = self._blocked.setdefault(self.find(leaf), [])
            if reason not in reasons:
                reasons.append(reason)

    def blocked_reasons(self, node: int) -> List[str]:
        return self._blocked.get(self.find(node), [])

    # ----------------------------------------------------------------- blocks
    def block_of(self, node: int) -> int:
        return self._block.get(self.find(node), 1)

    def require_block(self, node: int, block: int) -> None:
        """Channels of ``node``'s class are kept or removed in runs of ``block`` (a multiple of
        any earlier requirement); the class is fixed when its size does not allow it."""
        root = self.find(node)
        need = math.lcm(self._block.get(root, 1), int(block))
        if self.sizes[root] % need == 0:
            self._block[root] = need
            return
        self.block(root, f'channel blocks of {self._block.get(root, 1)} and {block} do not fit '
                         f'{self.sizes[root]} channels')
        self._block[root] = self.sizes[root]  # one block: nothing to remove anyway

    def tie_blocks(self, a: int, block_a: int, b: int, block_b: int,
                   within: Optional[Tuple[ModuleRecord, str]] = None) -> None:
        """Blocks of ``block_a`` channels of ``a``'s class pair one to one with blocks of
        ``block_b`` channels of ``b``'s (a grouped conv's input and output groups).

        ``within``: ``(record, kind)`` of a layer that can also be pruned *within* its blocks
        instead, the same channels of every block (a grouped conv keeping all its conv groups):
        when ``b``'s blocks turn out to be one class (a split-attention sum over the radix
        splits them apart and adds them), :meth:`finalize` makes ``a``'s blocks one class too
        and the record's layer ``kind``. Its blocks are then required by :meth:`finalize`,
        once that is known."""
        if within is None:
            self.require_block(a, block_a)
            self.require_block(b, block_b)
        else:
            self._within[len(self._ties)] = within
        self._ties.append((a, block_a, b, block_b))

    # ----------------------------------------------------------------- splits
    @property
    def has_splits(self) -> bool:
        return bool(self._split)

    def _leaves(self, node: int) -> Tuple[int, ...]:
        subs = self._split.get(node)
        return (node,) if subs is None else tuple(x for s in subs for x in self._leaves(s))

    def resolve(self, segs: Tuple[Seg, ...]) -> Tuple[Seg, ...]:
        """``segs`` with every split node replaced by its sub-nodes."""
        if not self._split:
            return tuple(segs)
        return tuple(Seg(leaf, s.expand) for s in segs for leaf in self._leaves(s.node))

    def refine(self, node: int, cuts) -> None:
        """Split unsplit ``node`` at channel positions ``cuts``, and every node of its class
        alike (their sub-nodes are merged one to one; reasons and blocks carry over)."""
        root = self.find(node)
        bounds = [0] + sorted(set(int(c) for c in cuts if 0 < c < self.sizes[node])) + \
            [self.sizes[node]]
        if len(bounds) == 2:
            return
        members = [n for n in range(len(self.sizes))
                   if n not in self._split and self.find(n) == root]
        reasons, block = list(self._blocked.get(root, [])), self._block.get(root)
        first = None
        for m in members:
            subs = tuple(self.new_node(b - a) for a, b in zip(bounds, bounds[1:]))
            self._split[m] = subs
            if first is None:
                first = subs
            else:
                for x, y in zip(first, subs):
                    self.union(x, y)
        for sub in first:
            for r in reasons:
                self.block(sub, r)
            if block:
                self.require_block(sub, block)

    def boundaries(self, segs: Tuple[Seg, ...]) -> List[int]:
        """Channel positions where the segments of an axis end."""
        out, pos = [], 0
        for s in self.resolve(segs):
            pos += self.sizes[s.node] * s.expand
            out.append(pos)
        return out

    def cut(self, segs: Tuple[Seg, ...], positions) -> Optional[Tuple[Seg, ...]]:
        """``segs`` with nodes split so that every position is a segment boundary, or None when
        a position falls inside a repeated channel."""
        for _ in range(64):
            segs, pos, done = self.resolve(segs), 0, True
            for s in segs:
                width = self.sizes[s.node] * s.expand
                inner = [c - pos for c in positions if pos < c < pos + width]
                if inner:
                    if any(c % s.expand for c in inner):
                        return None
                    self.refine(s.node, [c // s.expand for c in inner])
                    done = False
                    break
                pos += width
            if done:
                return segs
        return None

    def pieces(self, segs: Tuple[Seg, ...], sizes) -> Optional[List[Tuple[Seg, ...]]]:
        """The segments of consecutive pieces of ``sizes`` channels (summing to the axis's
        width), nodes split where a piece ends inside one; None when it ends inside a repeated
        channel."""
        stops = list(itertools.accumulate(sizes))
        cut = self.cut(segs, stops[:-1])
        if cut is None:
            return None
        ends, out, first = self.boundaries(cut), [], 0
        for stop in stops:
            last = ends.index(stop) + 1 if stop else 0
            out.append(cut[first:last])
            first = last
        return out

    def align(self, a: Tuple[Seg, ...], b: Tuple[Seg, ...]) -> bool:
        """Split nodes so that two channel axes of equal width have their segment boundaries at
        the same positions; False when a boundary falls inside a repeated channel."""
        for _ in range(64):
            bounds = set(self.boundaries(a)) | set(self.boundaries(b))
            a2, b2 = self.cut(a, bounds), self.cut(b, bounds)
            if a2 is None or b2 is None:
                return False
            if set(self.boundaries(a2)) == set(self.boundaries(b2)) == bounds:
                return True
            a, b = a2, b2
        return False

    def finalize(self) -> None:
        """Read every record through the splits, and make every block one channel: node sizes
        shrink by their class's block, and the segments of the module and call records and
        size attributes expand by it."""
        renamed = {}  # module -> kind of the layers pruned within their blocks
        for i, (a, ba, b, bb) in enumerate(self._ties):  # a grouped conv on channels split later
            if a not in self._split and b not in self._split:
                continue
            within = self._within.get(i)
            if within is not None and self._tie_within(a, ba, b, bb):
                within[0].kind = renamed[within[0].name] = within[1]
                within[0].out_node = b  # it writes b's channels: a producer of them
                continue
            self.block(a, 'grouped convolution on split channels')
            self.block(b, 'grouped convolution on split channels')
        self._ties = [t for t in self._ties if t[0] not in self._split and t[2] not in self._split]
        for a, ba, b, bb in self._ties:  # the deferred blocks of the ties that stay
            self.require_block(a, ba)
            self.require_block(b, bb)
        self.calls = [replace(c, kind=renamed[c.module]) if c.module in renamed else c
                      for c in self.calls]
        changed, rounds = True, 0
        while changed and rounds < 64:  # tied classes need blocks of the same count
            changed, rounds = False, rounds + 1
            for a, ba, b, bb in self._ties:
                t = math.lcm(self.block_of(a) // ba, self.block_of(b) // bb)
                for node, unit in ((a, ba), (b, bb)):
                    if self.block_of(node) != unit * t:
                        self.require_block(node, unit * t)
                        changed = True
        factor = [self.block_of(n) for n in range(len(self.sizes))]
        self.unit = factor
        self.sizes = [size // f for size, f in zip(self.sizes, factor)]
        self._block = {}

        def segs(ss):
            return tuple(Seg(s.node, s.expand * factor[s.node]) for s in self.resolve(ss))
        for rec in self.modules.values():
            if rec.in_segs is not None:
                rec.in_segs = segs(rec.in_segs)
            if rec.out_node is not None:
                rec.out_segs = segs((Seg(rec.out_node),))
        self.calls = [replace(c, in_segs=segs(c.in_segs), out_segs=segs(c.out_segs))
                      for c in self.calls]
        self.size_attributes = [(m, a, tuple(segs(p) for p in parts))
                                for m, a, parts in self.size_attributes]
        self.links = [(x, y) for a, b in self.links for x in self._leaves(a)
                      for y in self._leaves(b)]
        for a, _, b, _ in self._ties:
            if self.sizes[self.find(a)] == self.sizes[self.find(b)]:
                self.union(a, b)
            else:  # cannot happen after the loop above; keep both fixed if it does
                self.block(a, 'grouped convolution with uneven blocks')
                self.block(b, 'grouped convolution with uneven blocks')

    def _tie_within(self, a: int, ba: int, b: int, bb: int) -> bool:
        """Make a tie a pruning *within* the blocks, where ``b``'s blocks are one class (every
        block's segments the same classes in the same order): ``a``'s blocks become one class
        too, so every block keeps the same channels. False otherwise (nodes may have been split
        or merged on the way: the caller then keeps both classes fixed)."""
        count = self.sizes[b] // bb
        if a in self._split or count < 2 or self.sizes[a] != ba * count:
            return False
        out = self.pieces((Seg(b),), [bb] * count)
        if out is None or any(len(p) != len(out[0]) or any(
                self.find(x.node) != self.find(y.node) or x.expand != y.expand
                for x, y in zip(p, out[0])) for p in out):
            return False
        ins = self.pieces((Seg(a),), [ba] * count)
        if ins is None:
            return False
        for piece in ins[1:]:
            if not self.unify(ins[0], piece):
                return False
        return True

    # ----------------------------------------------------------------- labels
    def width(self, segs) -> int:
        return sum(self.sizes[s.node] * s.expand for s in segs)

    def unify(self, a: Tuple[Seg, ...], b: Tuple[Seg, ...]) -> bool:
        """Merge two channel axes that are combined channel by channel (splitting nodes where
        their segment boundaries differ).

        Returns False (and merges nothing) when their segments do not line up one to one.
        """
        if self.width(a) == self.width(b) and self.align(a, b):
            a, b = self.resolve(a), self.resolve(b)
        if len(a) != len(b) or any(self.sizes[x.node] != self.sizes[y.node] or
                                   x.expand != y.expand for x, y in zip(a, b)):
            return False
        for x, y in zip(a, b):
            self.union(x.node, y.node)
        return True

    def classes(self) -> List[int]:
        """Roots of all classes, in order of first appearance."""
        seen, out = set(), []
        for node in range(len(self.sizes)):
            root = self.find(node)
            if root not in seen:
                seen.add(root)
                out.append(root)
        return out


@dataclass
class TraceIssue:
    """An op the engine does not model, and the nodes it touched."""
    op: str
    module: str
    nodes: List[int] = field(default_factory=list)
