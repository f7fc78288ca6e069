"""Compute that reaches no output: conv/linear calls whose results the network drops.

A network may run layers whose outputs no output uses (smp's PSPNet runs an encoder's deeper
stages at depth 3 and drops them; a detector computes a feature nothing reads). ONNX and
mmengine's counter leave them out, and pruning them changes nothing, so they are not FLOPs of the
network: :class:`OutputCapture` finds them in the autograd graph of the trace's own forward pass
(a call's output that no output depends on is not behind the outputs); no backward function
runs and no extra forward pass is needed.
"""
from collections import defaultdict
from typing import List, Set

import torch

from .nested import iter_tensors


class OutputCapture:
    """Forward hooks that keep every module's outputs during one forward pass (the trace's):
    what :meth:`dead_calls` matches to the traced calls. Use as a context manager."""

    def __init__(self, model):
        self.model = model
        self.captured = defaultdict(list)
        self.outputs: List[torch.Tensor] = []
        self._handles = []

    def __enter__(self):
        self._handles = [m.register_forward_hook(
            lambda mod, args, out, name=n: self.captured[name].append(out))
            for n, m in self.model.named_modules()]
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []

    def set_outputs(self, out) -> None:
        """The network's outputs of that pass."""
        self.outputs = [t for t in iter_tensors(out) if t.requires_grad]

    def dead_calls(self, calls) -> Set[int]:
        """Indices of ``calls`` (the traced conv/linear calls, in call order) whose outputs no
        network output depends on. A module whose calls cannot be matched to its outputs one
        to one is taken as live. Frees what was captured."""
        try:
            return _unreached(calls, self.outputs, self.captured)
        finally:
            self.captured, self.outputs = defaultdict(list), []


def _unreached(calls, outputs, captured) -> Set[int]:
    if not outputs:
        return set()
    per_module = defaultdict(list)
    for i, c in enumerate(calls):
        per_module[c.module].append(i)
    probes: List[torch.Tensor] = []
    owners: List[int] = []
    for name, indices in per_module.items():
        outs = captured.get(name, [])
        if len(outs) != len(indices) or not all(torch.is_tensor(o) and o.requires_grad
                                                for o in outs):
            continue  # cannot tell which output is which call: live
        probes += outs
        owners += indices
    if not probes:
        return set()
    # the autograd graph behind the outputs, walked without running any backward function
    seen, todo = set(), [t.grad_fn for t in outputs]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        todo.extend(f for f, _ in fn.next_functions)
    return {i for i, t in zip(owners, probes) if t.grad_fn not in seen}
