"""Compute that reaches no output: conv/linear calls whose results the network drops.

A network may run layers whose outputs no output uses (smp's PSPNet runs an encoder's deeper
stages at depth 3 and drops them; a detector computes a feature nothing reads). ONNX and
mmengine's counter leave them out, and pruning them changes nothing, so they are not FLOPs of the
network: :func:`dead_calls` finds them in the autograd graph of one forward pass on the example
input (a call's output that no output depends on is not behind the outputs); no backward
function runs.
"""
from collections import defaultdict
from typing import List, Set

import torch

from .forward import call_forward
from .nested import iter_tensors


def dead_calls(model, calls, example_inputs: tuple, forward_fn=None) -> Set[int]:
    """Indices of ``calls`` (traced conv/linear calls, in call order) whose outputs no network
    output depends on. A module whose calls cannot be matched to its outputs one to one is
    taken as live."""
    names = {c.module for c in calls}
    modules = {n: m for n, m in model.named_modules() if n in names}
    captured = defaultdict(list)
    handles = [m.register_forward_hook(
        lambda mod, args, out, name=n: captured[name].append(out)) for n, m in modules.items()]
    inputs = tuple(x.detach().clone().requires_grad_(True)
                   if torch.is_tensor(x) and x.is_floating_point() else x
                   for x in example_inputs)
    was_training = model.training
    model.eval()  # as the trace ran: no batch statistics used or updated
    try:
        with torch.enable_grad():
            outputs = [t for t in iter_tensors(call_forward(model, inputs, forward_fn))
                       if t.requires_grad]
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
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
