"""Tensors inside nested model outputs and op results."""
import torch


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
