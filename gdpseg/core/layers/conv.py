"""Dense convolutions (``groups=1``), transposed too: producer of a group, consumer of another."""
import math
from typing import Optional

import torch
import torch.nn as nn

from ..graph import CallRecord, Label, Seg
from .base import DenseLayer, LayerHandler, scale_along, set_tensor

CONV_FUNCTIONS = ('conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d',
                  'conv_transpose3d')
_TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d) + _TRANSPOSED


def conv_call(tracer, args, kwargs, out):
    """The parts of a convolution call the handlers need, or None (reported) when its weight is
    not a module's ``weight``. An input whose tracked channels are not on axis 1 is read as an
    untracked input (that group is fixed, the call is still counted).

    A weight computed at run time inside a conv module (weight standardisation: timm's
    ``StdConv2d``, NFNet's ``ScaledStdConv2d``) gives a call with ``fixed`` set to the reason:
    its channels stay, its FLOPs are counted.
    """
    x = args[0]
    weight = args[1] if len(args) > 1 else kwargs.get('weight')
    groups = args[6] if len(args) > 6 else kwargs.get('groups', 1)  # same slot for transposed
    owner = tracer.owner(weight)
    lab = tracer.label(x)
    fixed = None
    if owner is None and tracer.running_modules():
        name = tracer.running_modules()[-1]
        module = tracer.module(name)
        if isinstance(module, _CONVS) and module.weight.shape == weight.shape:
            owner = (name, module, 'weight')
            fixed = 'convolution with a weight computed at run time (weight standardisation)'
    if owner is None or owner[2] != 'weight':
        tracer.unsupported('convolution with an untracked weight', [lab])
        return None
    if lab is not None and lab.dim != 1:
        # its channels are another axis of the tracked tensor (after a permute: OCRNet's
        # object context, TOOD's task decomposition): that group stays, the conv is recorded
        # and counted on an untracked input, and its own output channels can still be pruned
        tracer.unsupported('convolution over an axis other than the tracked channels', [lab])
        lab = None
    return dict(x=x, weight=weight, groups=int(groups), name=owner[0], module=owner[1],
                label=lab, transposed=isinstance(owner[1], _TRANSPOSED), fixed=fixed)


def _pair(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def trace_producer(handler, tracer, call, out, blocked: Optional[str] = None):
    """Record a conv that produces a new group: shared by dense and grouped convs."""
    x = call['x']
    in_segs = call['label'].segs if call['label'] is not None else (
        Seg(tracer.graph.new_node(x.shape[1], 'untracked input')),)
    rec = tracer.graph.modules.get(call['name'])
    if rec is None:
        rec = tracer.record_module(call['name'], handler.kind, in_segs=in_segs,
                                   out_node=tracer.graph.new_node(out.shape[1]),
                                   transposed=call['transposed'])
    else:
        tracer.record_module(call['name'], handler.kind, in_segs=in_segs)
    if blocked:
        tracer.unsupported(blocked, [Label(1, in_segs), Label(1, (Seg(rec.out_node),))])
    rec.in_numel = x[0].numel()
    rec.in_spatial, rec.out_spatial = tuple(x.shape[2:]), tuple(out.shape[2:])
    out_segs = (Seg(rec.out_node),)
    tracer.graph.calls.append(make_call(handler.kind, call, in_segs, out_segs, out))
    tracer.set_label(out, Label(1, out_segs))


def make_call(kind, call, in_segs, out_segs, out) -> CallRecord:
    x, w, module = call['x'], call['weight'], call['module']
    n = x.dim() - 2
    spatial = math.prod(x.shape[2:]) if call['transposed'] else math.prod(out.shape[2:])
    return CallRecord(
        call['name'], kind, x.shape[0] * spatial * math.prod(w.shape[2:]), in_segs, out_segs,
        in_shape=tuple(x.shape), out_shape=tuple(out.shape), kernel=tuple(w.shape[2:]),
        stride=_pair(getattr(module, 'stride', 1), n),
        padding=_pair(getattr(module, 'padding', 0), n) if not isinstance(
            getattr(module, 'padding', 0), str) else (),
        dilation=_pair(getattr(module, 'dilation', 1), n), groups=call['groups'],
        transposed=call['transposed'])


def stock_conv(call, cin: int, cout: int, groups: int = 1):
    """A torch conv with the geometry of ``call`` (transposed or not) and its random input."""
    n = len(call.kernel)
    cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[n] if not call.transposed else \
        {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[n]
    layer = cls(cin, cout, call.kernel, stride=call.stride, padding=call.padding or 0,
                dilation=call.dilation or 1, groups=groups)
    return layer, torch.randn(1, cin, *call.in_shape[2:])


class Conv(DenseLayer):
    """``Conv{1,2,3}d`` / ``ConvTranspose{1,2,3}d`` with ``groups=1``.

    FLOPs ``coef · C_in · C_out`` (bilinear in its input and output groups); export slices the
    weight on both axes and folds the input scales; a silent 2-d conv is replaced by a carrier.
    """

    kind = 'conv'
    filters = True
    timed = True
    functions = CONV_FUNCTIONS

    def stock_layer(self, call, cin, cout):
        return stock_conv(call, cin, cout)

    def match(self, tracer, args, kwargs, out):
        groups = args[6] if len(args) > 6 else kwargs.get('groups', 1)
        return groups == 1

    def trace(self, tracer, args, kwargs, out):
        call = conv_call(tracer, args, kwargs, out)
        if call is not None:
            trace_producer(LAYER_FIXED if call['fixed'] else self, tracer, call, out,
                           blocked=call['fixed'])

    def gate_dims(self, rec):
        return (0 if rec.transposed else 1), 1

    def params(self, module, rec, cin, cout):
        k = math.prod(module.weight.shape[2:])
        return k * cin * cout + (cout if module.bias is not None else 0)

    def add_params(self, res, module, rec, ins, outs, sizes):
        k = math.prod(module.weight.shape[2:])
        for q, eq in outs:
            for p, e in ins:
                res.add_pair(p, q, k * e * eq)
            if module.bias is not None:
                res.lin[q] += eq

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        in_dim, out_dim = (0, 1) if rec.transposed else (1, 0)
        w = scale_along(module.weight.index_select(in_dim, in_idx), in_dim, in_scale)
        w = w.index_select(out_dim, out_idx)
        set_tensor(module, 'weight', w)
        if module.bias is not None:
            set_tensor(module, 'bias', module.bias[out_idx])
        module.in_channels, module.out_channels = w.shape[in_dim], w.shape[out_dim]

    def can_carry(self, module, rec):
        return carrier_geometry(module, rec) is not None

    def carrier(self, module, rec, in_width):
        crop = nn.ConstantPad3d((0, 0, 0, 0, 0, 1 - in_width), 0.0)  # channels -> 1
        return nn.Sequential(crop, carrier_geometry(module, rec))


def carrier_geometry(module: nn.Module, rec):
    """The pooling that gives a conv's output shape, or None if the conv cannot be replaced."""
    if type(module) is not nn.Conv2d or module.groups != 1 or rec.transposed:
        return None
    if rec.out_spatial == rec.in_spatial and module.stride == (1, 1):
        return nn.Identity()
    if isinstance(module.padding, str):
        return None
    pool = nn.MaxPool2d(module.kernel_size, module.stride, module.padding, module.dilation)
    try:  # torch limits the padding of pooling to half its effective kernel
        out = pool(torch.zeros(1, 1, *rec.in_spatial)).shape[2:]
    except RuntimeError:
        return None
    return pool if tuple(out) == tuple(rec.out_spatial) else None



class FixedConv(LayerHandler):
    """A convolution whose channels stay (a grouped conv cutting its input's groups, a weight
    computed at run time): counted, never sliced."""

    kind = 'conv_fixed'
    consumer = True

    def gate_dims(self, rec):
        return (0 if rec.transposed else 1), 1

    def flops(self, call, cin, cout):
        return call.coef * cin * cout // call.groups  # exact: the channels are fixed

    def add_flops(self, res, call, ins, outs, sizes):
        cin = sum(sizes[p] * e for p, e in ins)
        cout = sum(sizes[q] * e for q, e in outs)
        res.const += self.flops(call, cin, cout)

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        full_in = module.weight.shape[0 if rec.transposed else 1] * module.groups
        if len(in_idx) != full_in or out_idx is not None and len(out_idx) != module.out_channels:
            raise RuntimeError(f'{rec.name}: this convolution cannot be sliced; its channels '
                               'must be fixed')
        if in_scale is not None and not bool((in_scale == 1).all()):
            raise RuntimeError(f'{rec.name}: gates on this convolution cannot be folded')


LAYER_FIXED = FixedConv()
