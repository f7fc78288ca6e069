"""Per-channel parameters multiplied into or added to activations (layer scale, a free bias).

``x * self.gamma.view(1, -1, 1, 1)`` (timm's ``LayerScale2d``, InceptionNeXt's ``gamma``) scales
each channel of ``x``'s group on its own: the parameter is a channel-wise member of the group,
sliced with it on export. The binary rule records it when the untracked operand of an
element-wise op is a parameter (or a view of one) with one value per channel. A parameter of the
activation's rank with the channels on the same axis (a transformer's position embedding
``(1, L, C)`` added to the tokens, its class token ``(1, 1, C)`` concatenated before them) is a
member too, sliced along that axis.
"""
from .base import LayerHandler, set_tensor


def _others(module, rec) -> int:
    """Parameters of the module other than its per-channel ones."""
    mine = {id(getattr(module, name)) for name in rec.params}
    return sum(q.numel() for q in module.parameters(recurse=False) if id(q) not in mine)


def _axis(p, axes) -> int:
    """A parameter's channel axis: recorded, or its only axis longer than 1."""
    return axes[0] if axes else max(range(p.dim()), key=lambda d: p.shape[d])


class ChannelParam(LayerHandler):
    kind = 'channel_param'

    @staticmethod
    def _per_channel(module, rec) -> int:
        """Values per channel, over the module's per-channel parameters."""
        total = 0
        for name, axes in rec.params.items():
            p = getattr(module, name)
            total += p.numel() // p.shape[_axis(p, axes)]
        return total

    def params(self, module, rec, cin, cout):
        return _others(module, rec) + cin * self._per_channel(module, rec)

    def add_params(self, res, module, rec, ins, outs, sizes):
        res.const += _others(module, rec)
        for p, e in ins:
            res.lin[p] += e * self._per_channel(module, rec)

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        for name, axes in rec.params.items():
            p = getattr(module, name)
            set_tensor(module, name, p.index_select(_axis(p, axes), in_idx))
