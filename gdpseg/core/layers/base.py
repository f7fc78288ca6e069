"""What the engine knows about one kind of layer, in one place.

A :class:`LayerHandler` is looked up by the ``kind`` the trace recorded for a layer. It says how
the layer is traced (which torch functions, which output label), whether it reads channel groups
through its weight (a *consumer*: it carries the group's gate and folds the plan's scales), how
its FLOPs and parameters depend on the widths of its groups, how it is sliced on export, and what
can stand in for it when nothing reads its output.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

# (group index, expand) of each segment of a channel axis: see gdpseg.core.graph.Seg
SegGroups = Sequence[Tuple[int, int]]


class LayerHandler:
    """Base class of layer handlers; subclasses override what applies to their kind.

    Attributes:
        kind: Name recorded by the trace (``ModuleRecord.kind`` / ``CallRecord.kind``).
        functions: torch function names whose calls this handler may trace.
        consumer: The layer reads its input groups through a weight: it is gated, and the plan's
            per-channel scales of those groups are folded into it on export. Otherwise the layer
            is channel-wise (a *member* of its input's group: norms, depthwise convs).
        filters: Each output channel is a filter of the weight (``weight[c]``, or
            ``weight[:, c]`` when transposed): methods score channels by filter norms and soft
            pruning zeroes them.
    """

    kind: str = ''
    functions: Tuple[str, ...] = ()
    consumer: bool = False
    filters: bool = False

    # ----------------------------------------------------------------- timing (latency model)
    timed: bool = False  # the measured latency model can time this layer kind
    tied_widths: bool = False  # its input and output widths are one (depthwise)

    def channel_counts(self, call) -> Tuple[int, int]:
        """(input, output) channels of a call."""
        return call.in_shape[1], call.out_shape[1]

    def positions(self, call) -> int:
        """Output elements per channel of a call (per sample, spatial positions)."""
        return math.prod(call.out_shape[2:])

    def stock_layer(self, call, cin: int, cout: int) -> Tuple[nn.Module, torch.Tensor]:
        """A stock torch layer with the call's geometry at ``cin``/``cout`` channels, and an
        input for it: what the latency model times."""
        raise NotImplementedError(f'{self.kind} layers are not timed')

    def affine(self, module: nn.Module) -> Optional[Tuple[torch.Tensor, Optional[torch.Tensor]]]:
        """``(scale, shift)`` the layer applies per channel of its input group (BatchNorm's γ
        and β), for methods that read or regularise them (Network Slimming, BWCP); None when
        it has none."""
        return None

    # ----------------------------------------------------------------- trace
    def match(self, tracer, args, kwargs, out) -> bool:
        """Whether this handler traces this call (handlers of one function are tried in order)."""
        return True

    def trace(self, tracer, args, kwargs, out) -> None:
        """Record the layer (``tracer.record_module``), its calls and the output's label."""
        raise NotImplementedError

    # ----------------------------------------------------------------- gating
    # a consumer's gate may multiply its weight instead of its input when that is cheaper
    # (not when the weight's input axis is not the input's channels: grouped convs)
    gate_on_weight: bool = True

    def gate_dims(self, rec) -> Tuple[int, int]:
        """(axis of the weight, axis of the input) that run along the input channels."""
        raise NotImplementedError(f'{self.kind} layers are not gated')

    # ----------------------------------------------------------------- live channels
    live_dependent: bool = False  # what it computes on a channel depends on the other live ones
    param_member: bool = False  # its per-channel parameters are sliced by its own prune

    def live_hooks(self, module: nn.Module, rec, live_of) -> list:
        """Hooks (their handles) that make a ``live_dependent`` member compute on the live
        channels of its group alone, ``live_of()`` giving the live mask along its channels (or
        None: all live), so that the gated or masked model computes what the export will."""
        return []

    # ----------------------------------------------------------------- counting
    def flops(self, call, cin: int, cout: int) -> int:
        """conv/linear multiply-adds of ``call`` with ``cin`` inputs and ``cout`` outputs."""
        return 0

    def add_flops(self, res, call, ins: SegGroups, outs: SegGroups, sizes: List[int]) -> None:
        """Add the call's FLOPs to a :class:`BilinearResource` over group widths."""

    def params(self, module: nn.Module, rec, cin: int, cout: int) -> int:
        """Parameters of the layer with ``cin`` input and ``cout`` output channels."""
        return sum(p.numel() for p in module.parameters(recurse=False))

    def add_params(self, res, module: nn.Module, rec, ins: SegGroups, outs: SegGroups,
                   sizes: List[int]) -> None:
        """Add the layer's parameters to a :class:`BilinearResource` over group widths (``outs``:
        the segments of a producer's output, empty for other layers)."""
        res.const += self.params(module, rec, 0, 0)

    # ----------------------------------------------------------------- export
    def prune(self, module: nn.Module, rec, in_idx: torch.Tensor,
              in_scale: Optional[torch.Tensor], out_idx: Optional[torch.Tensor]) -> None:
        """Slice ``module`` in place: keep input positions ``in_idx`` (scaled by ``in_scale``,
        for consumers) and output channels ``out_idx`` (producers)."""
        raise NotImplementedError

    def can_carry(self, module: nn.Module, rec) -> bool:
        """Whether a *carrier* can stand in for this layer once nothing reads its output."""
        return False

    def carrier(self, module: nn.Module, rec, in_width: int) -> nn.Module:
        """A module with the layer's output shape (one channel) that reads its input of
        ``in_width`` channels and computes no convolution (see :mod:`gdpseg.core.plan`)."""
        raise NotImplementedError


class DenseLayer(LayerHandler):
    """A layer whose every output channel reads every input channel (conv with ``groups=1``,
    linear): ``coef · C_in · C_out`` multiply-adds, bilinear in its input and output groups."""

    consumer = True

    def flops(self, call, cin, cout):
        return call.coef * cin * cout

    def add_flops(self, res, call, ins, outs, sizes):
        for p, ep in ins:
            for q, eq in outs:
                res.add_pair(p, q, call.coef * ep * eq)


def set_tensor(module: nn.Module, name: str, tensor: torch.Tensor) -> None:
    """Replace a parameter or buffer of ``module``, keeping its kind and ``requires_grad``."""
    old = getattr(module, name)
    if isinstance(old, nn.Parameter):
        setattr(module, name, nn.Parameter(tensor.contiguous(), requires_grad=old.requires_grad))
    else:
        setattr(module, name, tensor.contiguous())


def scale_along(w: torch.Tensor, dim: int, scale: Optional[torch.Tensor]) -> torch.Tensor:
    """``w`` multiplied by ``scale`` along axis ``dim`` (unchanged when ``scale`` is None)."""
    if scale is None:
        return w
    shape = [1] * w.dim()
    shape[dim] = -1
    return w * scale.to(w.dtype).view(shape)
