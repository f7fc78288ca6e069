"""Running a model on meta tensors: shapes and dtypes without values, so without compute.

The trace needs only what a forward pass does with channels, never the numbers, so
:func:`~gdpseg.core.trace_groups` traces on meta tensors first: on DeepLabV3+ R50 at 512² the
pass takes about a tenth of a real one. :func:`on_meta` swaps the model's parameters and buffers
for meta tensors of the same shapes and gives every one back afterwards, the same objects.

A model that cannot run on meta tensors raises inside the pass: one whose control flow reads
values (``.item()``, ``if x.sum() > 0``), an op without a meta kernel (compiled extensions), a
tensor it keeps or makes on a real device and mixes in. The trace then runs on real values,
which gives the same graph, only slower. What a model stores while it runs (a cache of
positional tables, anchors) would hold meta tensors afterwards: attributes the pass reassigned
are given their old values back, what it added to a dict or list attribute is removed, and
anything else left on meta is an error that names it (state kept in objects that are not
modules is not looked into).
"""
from contextlib import contextmanager
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

from .nested import iter_tensors


class MetaStateError(RuntimeError):
    """Meta tensors that a pass on meta tensors stored in the model could not be removed."""


# attributes every nn.Module has (parameters, buffers, hooks, ...): not a model's own state
_MODULE_INTERNALS = frozenset(vars(nn.Module()))


def to_meta(obj):
    """A copy of ``obj`` (a tensor or a tuple/list/dict of them) with every tensor on meta."""
    if isinstance(obj, torch.Tensor):
        return torch.empty_like(obj, device='meta')
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_meta(o) for o in obj)
    if isinstance(obj, dict):
        return {k: to_meta(v) for k, v in obj.items()}
    return obj


def _state(model: nn.Module) -> Dict[Tuple[int, str], object]:
    """Each module's own attributes (not nn.Module's), with the keys of dict attributes and
    the lengths of list attributes, and the names of its buffers."""
    state = {}
    for m in model.modules():
        for k, v in vars(m).items():
            if k not in _MODULE_INTERNALS:
                state[id(m), k] = (v, set(v) if isinstance(v, dict) else
                                   len(v) if isinstance(v, list) else None)
        state[id(m), '_buffers'] = (None, set(m._buffers))
    return state


def _restore_state(model: nn.Module, before) -> List[str]:
    """Undo what the pass stored in the modules; names of meta tensors it could not undo."""
    left = []
    for name, m in model.named_modules():
        for k in [k for k in vars(m) if k not in _MODULE_INTERNALS]:
            old = before.get((id(m), k))
            if old is None:  # an attribute the pass added
                if any(t.is_meta for t in iter_tensors(vars(m)[k])):
                    delattr(m, k)
                continue
            value, keys = old
            if vars(m)[k] is not value:
                object.__setattr__(m, k, value)
            # (the old container too: it may have been filled before it was replaced)
            if isinstance(keys, set):  # a cache filled in place
                for key in set(value) - keys:
                    if any(t.is_meta for t in iter_tensors(value[key])):
                        del value[key]
            elif isinstance(keys, int) and any(t.is_meta for t in iter_tensors(value[keys:])):
                del value[keys:]  # items appended
            if any(t.is_meta for t in iter_tensors(vars(m)[k])):
                left.append(f'{name or "model"}.{k}')
        for k in set(m._buffers) - before[id(m), '_buffers'][1]:  # registered by the pass
            if m._buffers[k] is not None and m._buffers[k].is_meta:
                del m._buffers[k]
        for kind in ('_parameters', '_buffers'):
            for k, t in getattr(m, kind).items():
                if t is not None and t.is_meta:
                    left.append(f'{name or "model"}.{k}')
    return left


@contextmanager
def on_meta(model: nn.Module):
    """Within the block, ``model``'s parameters and buffers are meta tensors of their shapes.

    Tied tensors stay tied (one meta tensor each). On leaving, the model gets its own tensors
    back, and what the block stored in it is undone (see the module docstring).

    Raises:
        MetaStateError: when meta tensors the block stored cannot be removed; the error names
            them. The model's parameters and buffers are restored all the same.
    """
    swapped, memo, before, ok = [], {}, _state(model), False
    try:
        for m in model.modules():
            for kind in ('_parameters', '_buffers'):
                for name, t in list(getattr(m, kind).items()):
                    if t is None:
                        continue
                    new = memo.get(id(t))
                    if new is None:
                        new = torch.empty_like(t, device='meta')
                        if isinstance(t, nn.Parameter):
                            new = nn.Parameter(new, requires_grad=t.requires_grad)
                        memo[id(t)] = new
                    getattr(m, kind)[name] = new
                    swapped.append((m, kind, name, t))
        yield model
        ok = True
    finally:  # also after a failed swap: what was swapped goes back
        for m, kind, name, t in swapped:
            getattr(m, kind)[name] = t
        left = _restore_state(model, before)
    if ok and left:
        raise MetaStateError(
            f'gdpseg: running the model on meta tensors left meta tensors in '
            f'{", ".join(left[:4])}{", ..." if len(left) > 4 else ""} (state the model stores '
            'while it runs); trace it on real values instead: trace_groups(..., meta_trace=False)')
