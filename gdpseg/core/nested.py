"""Tensors inside nested model outputs and op results, and how far two such outputs differ."""
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


def max_difference(ref, out) -> float:
    """Largest |ref - out| over all tensors of two (nested) outputs, relative to |ref|'s max.

    Raises:
        RuntimeError: when the outputs differ in structure.
        ValueError: when they are not finite (a broken checkpoint).
    """
    refs, outs = list(iter_tensors(ref)), list(iter_tensors(out))
    if len(refs) != len(outs) or any(a.shape != b.shape for a, b in zip(refs, outs)):
        raise RuntimeError('the export returns outputs of other shapes than the model')
    if not all(bool(torch.isfinite(t).all()) for t in refs + outs):
        raise ValueError('the model or its export produces outputs that are not finite '
                         '(NaN/inf): the checkpoint is broken (e.g. training diverged)')
    diff = max((float((a - b).abs().max()) for a, b in zip(refs, outs)), default=0.0)
    scale = max((float(a.abs().max()) for a in refs), default=0.0) or 1.0
    return diff / scale
