"""Per-channel parameters multiplied into or added to activations (layer scale, a free bias).

``x * self.gamma.view(1, -1, 1, 1)`` (timm's ``LayerScale2d``, InceptionNeXt's ``gamma``) scales
each channel of ``x``'s group on its own: the parameter is a channel-wise member of the group,
sliced with it on export. The binary rule records it when the untracked operand of an
element-wise op is a parameter (or a view of one) with one value per channel.
"""
from .base import LayerHandler, set_tensor


def _others(module, rec) -> int:
    """Parameters of the module other than the per-channel one."""
    p = getattr(module, rec.attr)
    return sum(q.numel() for q in module.parameters(recurse=False) if q is not p)


class ChannelParam(LayerHandler):
    kind = 'channel_param'

    def params(self, module, rec, cin, cout):
        return _others(module, rec) + cin

    def add_params(self, res, module, rec, ins, outs, sizes):
        res.const += _others(module, rec)
        for p, e in ins:
            res.lin[p] += e

    def prune(self, module, rec, in_idx, in_scale, out_idx):
        p = getattr(module, rec.attr)
        dim = max(range(p.dim()), key=lambda d: p.shape[d])  # its only axis longer than 1
        set_tensor(module, rec.attr, p.index_select(dim, in_idx))
