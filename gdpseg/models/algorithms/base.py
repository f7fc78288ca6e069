"""Any task model as an MMEngine model with its channel groups: what every pruning method wraps.

A method subclasses :class:`PruningAlgorithm` and says how it chooses a plan (``plan()``) and,
if it trains, what it does around the optimizer's steps (the step protocol below, driven inside
MMEngine's Runner by :class:`~gdpseg.engine.hooks.PruningHook`); the trace, the task model's
modes, baseline checkpoints and the export (``tools/prune.py``) are shared.
"""
import copy
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from gdpseg.core import ChannelGroups, trace_groups
from gdpseg.core.forward import call_forward
from gdpseg.core.unfused_attention import unfuse_attention as unfuse
from gdpseg.core.verify import masked_outputs
from gdpseg.engine.train_state import TrainState
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
    """Load a checkpoint of the bare task model (a baseline): its keys get the
    ``architecture.`` prefix; the method fills in its own state (:meth:`from_baseline`)."""
    own = tuple(prefix + name + '.' for name, _ in module.named_children()
                if name not in ('architecture', 'data_preprocessor')) + \
        tuple(prefix + name for name, _ in module.named_buffers(recurse=False))
    if own and any(k.startswith(own) for k in state_dict):
        return  # a checkpoint of this method
    ours = (prefix + 'architecture.', prefix + 'data_preprocessor.') + own
    if not any(k.startswith(prefix + 'architecture.') for k in state_dict):
        for key in [k for k in state_dict if k.startswith(prefix) and not k.startswith(ours)]:
            state_dict[prefix + 'architecture.' + key[len(prefix):]] = state_dict.pop(key)
    if not any(k.startswith(prefix + 'architecture.') for k in state_dict):
        return  # not a checkpoint of this model at all: let the loader report it
    module.from_baseline(state_dict, prefix)


class PruningAlgorithm(BaseModel):
    """A task model, traced once into channel groups, whose plan a subclass chooses.

    The architecture keeps its own data preprocessor and its ``loss``/``predict``/``tensor``
    modes. A checkpoint of the bare task model (the baseline) loads directly (``load_from``):
    its keys get the ``architecture.`` prefix.

    Args:
        architecture: Config of the task model (any registry scope: ``_scope_='mmseg'`` or a
            ``mmseg.`` type prefix) or a built ``nn.Module``.
        input_shape: Shape of the demo input for the trace, e.g. ``(1, 3, 513, 513)``.
        forward_mode: ``'tensor'`` calls ``model(x, mode='tensor')`` (MMEngine models; an mmseg
            segmentor's auxiliary heads are traced too, and left out of FLOPs);
            ``None`` calls ``model(x)``.
        exclude: ``fnmatch`` patterns of module names (within the architecture) to keep.
        min_channels: Fewest channels a surviving group keeps (a group may die entirely).
        channel_multiple: Export keeps a multiple of this many channels per group.
        strict: Raise on ops the engine does not model.
        unfuse_attention: Replace every ``nn.MultiheadAttention`` of the architecture by the
            same attention written out (:mod:`gdpseg.core.unfused_attention`: same parameters
            and outputs, its checkpoints load), so that its heads and embedding dimension can
            be pruned; fused, it is counted but its channels stay.
        meta_trace: Trace on meta tensors (shapes only, no compute), on the demo input's
            values, or 'auto': meta from 2**18 input elements on (``trace_groups``).
    """

    def __init__(self, architecture, input_shape: Sequence[int] = (1, 3, 512, 512),
                 forward_mode: Optional[str] = 'tensor', exclude: Sequence[str] = (),
                 min_channels: int = 1, channel_multiple: int = 1, strict: bool = False,
                 unfuse_attention: bool = False, meta_trace='auto', data_preprocessor=None,
                 init_cfg=None):
        if forward_mode not in ('tensor', None):
            raise ValueError(f"forward_mode must be 'tensor' (MMEngine models) or None (a "
                             f"plain nn.Module called as model(x)), got {forward_mode!r}")
        if not isinstance(architecture, nn.Module):
            architecture = MODELS.build(copy.deepcopy(architecture))
        preprocessor = getattr(architecture, 'data_preprocessor', None)
        super().__init__(data_preprocessor=data_preprocessor or dict(type='BaseDataPreprocessor'),
                         init_cfg=init_cfg)
        if data_preprocessor is None and isinstance(preprocessor, nn.Module):
            self.data_preprocessor = preprocessor
        if unfuse_attention and not unfuse(architecture):
            raise ValueError('unfuse_attention=True, but the architecture has no '
                             'nn.MultiheadAttention: leave the option out')
        self.architecture = architecture
        self.input_shape = tuple(input_shape)
        fn, ignore = None, ()
        if forward_mode == 'tensor':
            fn = tensor_mode
            if _auxiliary_heads(architecture):
                fn, ignore = _tensor_mode_with_aux, ('auxiliary_head.*',)
        self.forward_fn = fn
        demo = torch.zeros(self.input_shape)
        demo.normal_(generator=torch.Generator().manual_seed(0))
        # how the architecture is traced (a method tracing it at another input reuses them)
        self.trace_options = dict(forward_fn=fn, strict=strict, exclude=tuple(exclude),
                                  min_channels=min_channels, channel_multiple=channel_multiple,
                                  flops_ignore=ignore, meta_trace=meta_trace)
        self._groups = trace_groups(architecture, (demo,), **self.trace_options)
        self.register_load_state_dict_pre_hook(_baseline_keys)

    # whether the architecture computes the plan's function itself (GDP's gates do; see
    # reference_outputs): an ONNX export is then checked against it
    gated = False

    @property
    def channel_groups(self) -> ChannelGroups:
        """The architecture's channel groups (shared by every pruning method)."""
        return self._groups

    def plan(self):
        """The :class:`~gdpseg.core.PruningPlan` the method chooses now."""
        raise NotImplementedError

    def call_architecture(self, x: torch.Tensor):
        """The architecture's outputs on ``x`` as the trace ran it (``forward_fn``)."""
        return call_forward(self.architecture, (x,), self.forward_fn)

    def before_export(self, example: torch.Tensor) -> None:
        """Called in eval mode before the plan is exported: make the architecture compute, in
        layers the export can slice, what the method computes (BWCP folds its whitening into
        the convolutions). Nothing by default."""

    def reference_outputs(self, plan, example: torch.Tensor):
        """What the export of ``plan`` must compute on ``example``: the architecture with the
        plan's factors applied. (GDP's gated architecture computes its plan itself.)"""
        return masked_outputs(self.channel_groups, plan, (example,), self.forward_fn)

    def from_baseline(self, state_dict: dict, prefix: str) -> None:
        """Called when a baseline checkpoint is loaded: the method's own entries (gates,
        buffers: everything outside the architecture) keep their current values."""
        skip = (prefix + 'architecture.', prefix + 'data_preprocessor.')
        for key, value in self.state_dict(prefix=prefix).items():
            if not key.startswith(skip):
                state_dict[key] = value.clone()

    def forward(self, inputs, *args, mode: str = 'tensor', **kwargs):
        # whatever the task model's data holds besides the inputs (data_samples, labels, ...)
        return self.architecture(inputs, *args, mode=mode, **kwargs)

    # ------------------------------------------------------------ the step protocol
    # What a method does around training. PruningHook calls these inside MMEngine's Runner;
    # a method that only scores a trained network (one-shot) needs none of them.
    def before_train(self, state: TrainState) -> None:
        """Before the first iteration (of a fresh or a resumed run: ``state.iter``)."""

    def after_step(self, state: TrainState) -> None:
        """After every training iteration (``state.updated``: whether the optimizer stepped)."""

    def after_epoch(self, state: TrainState) -> None:
        """After every training epoch (epoch-based loops)."""

    def after_train(self, state: TrainState) -> None:
        """When training ends (the last checkpoint is saved after this)."""

    def step_state_dict(self) -> dict:
        """What a resumed run needs of the method's step beyond the model's ``state_dict``
        (kept in the checkpoint's ``meta``)."""
        return {}

    def load_step_state_dict(self, state: dict) -> None:
        """Restore :meth:`step_state_dict` from a checkpoint."""


class SoftMaskAlgorithm(PruningAlgorithm):
    """A method that trains soft channel masks (``self.gates``, a gate set) and folds the kept
    channels' masks into its plan: the export must compute the architecture with the plan's
    factors, without the masks the plan replaces."""

    def reference_outputs(self, plan, example):
        self.gates.detach()
        try:
            return masked_outputs(self.channel_groups, plan, (example,), self.forward_fn)
        finally:
            self.gates.attach()
