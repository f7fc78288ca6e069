"""ONNX export of a (pruned) network, checked against PyTorch with ONNX Runtime.

Exported with a dynamic batch axis; every output of the network (nested tuples, lists and dicts
of tensors, as detectors return them) becomes one ONNX output, in :func:`iter_tensors` order.
"""
import importlib.util
from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn

from gdpseg.core.nested import iter_tensors, max_difference

# The opset used unless asked otherwise: the newest the TorchScript exporter of the pinned
# torch writes and the pinned ONNX Runtime runs.
DEFAULT_OPSET = 18


def onnx_available() -> bool:
    """Whether ``onnx`` and ``onnxruntime`` can be imported."""
    return all(importlib.util.find_spec(m) is not None for m in ('onnx', 'onnxruntime'))


class FlatOutputs(nn.Module):
    """``forward(x)`` of a model as a flat tuple of tensors.

    Args:
        model: The network.
        forward_fn: ``forward_fn(model, (x,))`` for models not called as ``model(x)`` (e.g.
            ``lambda m, x: m(*x, mode='tensor')`` for OpenMMLab models).
    """

    def __init__(self, model: nn.Module, forward_fn: Optional[Callable] = None):
        super().__init__()
        self.model = model
        self.forward_fn = forward_fn

    def forward(self, x):
        out = self.forward_fn(self.model, (x,)) if self.forward_fn else self.model(x)
        return tuple(iter_tensors(out))


def export_onnx(model: nn.Module, example: torch.Tensor, path: str,
                forward_fn: Optional[Callable] = None, opset: int = DEFAULT_OPSET) -> Sequence[str]:
    """Write ``model`` (in eval mode) to ``path`` as ONNX with a dynamic batch axis.

    Returns:
        The names of the ONNX outputs (``output0``, ``output1``, ...).
    """
    import warnings

    flat = FlatOutputs(model, forward_fn).eval()
    with torch.no_grad():
        n = len(flat(example))
    names = [f'output{i}' for i in range(n)]
    dynamic = {'input': {0: 'batch'}, **{name: {0: 'batch'} for name in names}}
    with warnings.catch_warnings():
        # the TorchScript exporter announces its successor on every call
        warnings.simplefilter('ignore', category=DeprecationWarning)
        warnings.simplefilter('ignore', category=FutureWarning)
        # shape checks in forward() (``if logits.shape != inputs.shape``) are constants of the
        # traced resolution; the export is checked with ONNX Runtime at batch 1 and 2 instead
        warnings.simplefilter('ignore', category=torch.jit.TracerWarning)
        torch.onnx.export(flat, (example,), path, input_names=['input'], output_names=names,
                          dynamic_axes=dynamic, opset_version=opset, dynamo=False)
    return names


def onnx_session(path: str, threads: int = 0):
    """An ONNX Runtime CPU session of ``path`` (``threads`` intra-op threads; 0: its default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def check_onnx(path: str, reference: Callable, inputs: Sequence[torch.Tensor]) -> float:
    """Run the ONNX file on each input and compare with ``reference(x)`` (a flat tuple).

    Returns:
        The largest |onnx − reference| relative to the largest |reference|, over all inputs
        and outputs.

    Raises:
        RuntimeError: when the outputs differ in number or shape.
        ValueError: when they are not finite.
    """
    session = onnx_session(path)
    worst = 0.0
    for x in inputs:
        with torch.no_grad():
            ref = [t.detach() for t in reference(x)]
        got = session.run(None, {'input': x.numpy()})
        if len(got) != len(ref) or any(tuple(g.shape) != tuple(r.shape)
                                       for g, r in zip(got, ref)):
            raise RuntimeError(f'ONNX outputs {[g.shape for g in got]} differ from PyTorch\'s '
                               f'{[tuple(r.shape) for r in ref]} for input {tuple(x.shape)}')
        worst = max(worst, max_difference(ref, [torch.from_numpy(g) for g in got]))
    return worst
