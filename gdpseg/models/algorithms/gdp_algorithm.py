"""GDP as an MMEngine model: any task model, gated, with the gate set as a submodule."""
import copy
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModel

from gdpseg.core import GateSet, attach_gates
from gdpseg.deploy import latency as _latency  # noqa: F401  (resource='latency')
from gdpseg.registry import MODELS


def tensor_mode(model, inputs):
    """``forward_fn`` of an MMEngine model's tensor mode (for tracing, export checks, timing)."""
    return model(*inputs, mode='tensor')


def _auxiliary_heads(model):
    aux = getattr(model, 'auxiliary_head', None)
    if aux is None:
        return []
    return list(aux) if isinstance(aux, nn.ModuleList) else [aux]


def _tensor_mode_with_aux(model, inputs):
    """mmseg segmentors: the decode head and the auxiliary heads on one backbone pass, so the
    auxiliary heads (trained, not run at inference) read the same pruned channels."""
    feats = model.extract_feat(inputs[0])
    return (model.decode_head.forward(feats), *[h.forward(feats) for h in
                                                 _auxiliary_heads(model)])


def _baseline_keys(module, state_dict, prefix, *args):
    """Load a baseline (ungated) checkpoint: its keys get the ``architecture.`` prefix and the
    gates keep their current values, said in one line instead of a list of missing keys."""
    ours = (prefix + 'architecture.', prefix + 'gates.', prefix + 'data_preprocessor.')
    if any(k.startswith(prefix + 'gates.') for k in state_dict):
        return
    if not any(k.startswith(prefix + 'architecture.') for k in state_dict):
        for key in [k for k in state_dict if k.startswith(prefix) and not k.startswith(ours)]:
            state_dict[prefix + 'architecture.' + key[len(prefix):]] = state_dict.pop(key)
    if not any(k.startswith(prefix + 'architecture.') for k in state_dict):
        return  # not a checkpoint of this model at all: let the loader report it
    for key, value in module.gates.state_dict(prefix=prefix + 'gates.').items():
        state_dict[key] = value.clone()
    print_log(f'loaded a baseline checkpoint (no GDP gates): the gates start at their initial '
              f'values (α={module.init:g}, ε={float(module.gates.eps):g})', logger='current')


@MODELS.register_module()
class GDPAlgorithm(BaseModel):
    """Wrap a task model with GDP gates.

    The architecture keeps its own data preprocessor and its ``loss``/``predict``/``tensor``
    modes; gates are attached once, from a demo input, and are trained as ``self.gates``
    (parameters ``gates.alphas.*``, buffer ``gates.eps``), so checkpoints carry them.
    Distributed training uses MMEngine's own wrapper (``launcher=pytorch``).

    Args:
        architecture: Config of the task model (any registry scope: ``_scope_='mmseg'`` or a
            ``mmseg.`` type prefix) or a built ``nn.Module``.
        input_shape: Shape of the demo input for the trace, e.g. ``(1, 3, 513, 513)``.
        forward_mode: ``'tensor'`` calls ``model(x, mode='tensor')`` (MMEngine models; an mmseg
            segmentor's auxiliary heads are traced too, and left out of FLOPs);
            ``None`` calls ``model(x)``.
        eps: Initial ε of the gates.
        init: Initial α.
        exclude: ``fnmatch`` patterns of module names (within the architecture) to keep.
        min_channels: Fewest channels a surviving group keeps (a group may die entirely).
        channel_multiple: Export keeps a multiple of this many channels per group (zero-gated
            fillers), for faster kernels on the target.
        strict: Raise on ops the engine does not model.
        resource: What the proximal step penalises: ``'flops'`` (default), ``'params'`` or any
            resource registered with :func:`gdpseg.core.register_resource` (or its dict).
        keep_connected: Groups whose death would cut the input from an output (the stem, a
            trunk) keep at least one channel; ``False`` lets any group die.

    A checkpoint of the *ungated* task model (the baseline) loads into this wrapper directly
    (``load_from`` in a config): its keys get the ``architecture.`` prefix, and the gates keep
    their initial values.
    """

    def __init__(self, architecture, input_shape: Sequence[int] = (1, 3, 512, 512),
                 forward_mode: Optional[str] = 'tensor', eps: float = 0.1, init: float = 1.0,
                 exclude: Sequence[str] = (), min_channels: int = 1, channel_multiple: int = 1,
                 strict: bool = False, resource='flops', keep_connected: bool = True,
                 data_preprocessor=None, init_cfg=None):
        if not isinstance(architecture, nn.Module):
            architecture = MODELS.build(copy.deepcopy(architecture))
        preprocessor = getattr(architecture, 'data_preprocessor', None)
        super().__init__(data_preprocessor=data_preprocessor or dict(type='BaseDataPreprocessor'),
                         init_cfg=init_cfg)
        if data_preprocessor is None and isinstance(preprocessor, nn.Module):
            self.data_preprocessor = preprocessor
        self.architecture = architecture
        self.input_shape = tuple(input_shape)
        self.init = float(init)
        fn, ignore = None, ()
        if forward_mode == 'tensor':
            fn = tensor_mode
            if _auxiliary_heads(architecture):
                fn, ignore = _tensor_mode_with_aux, ('auxiliary_head.*',)
        self.forward_fn = fn
        demo = torch.zeros(self.input_shape)
        demo.normal_(generator=torch.Generator().manual_seed(0))
        self.gates: GateSet = attach_gates(architecture, (demo,), forward_fn=fn, eps=eps,
                                           init=init, strict=strict, exclude=tuple(exclude),
                                           min_channels=min_channels,
                                           channel_multiple=channel_multiple,
                                           flops_ignore=ignore, resource=resource,
                                           keep_connected=keep_connected)

        self.register_load_state_dict_pre_hook(_baseline_keys)

    @property
    def channel_groups(self):
        """The architecture's channel groups (shared by every pruning method)."""
        return self.gates.channel_groups

    def plan(self):
        """The pruning plan of the gates now (:meth:`GateSet.plan`)."""
        return self.gates.plan()

    def forward(self, inputs, *args, mode: str = 'tensor', **kwargs):
        # whatever the task model's data holds besides the inputs (data_samples, labels, ...)
        return self.architecture(inputs, *args, mode=mode, **kwargs)
