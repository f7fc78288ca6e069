"""``nn.MultiheadAttention``: counted as mmengine counts it; its channels stay.

``nn.MultiheadAttention`` runs one fused function, ``F.multi_head_attention_forward``, which the
trace sees as a single call (the projections inside it are not module calls). Its embedding
dimension is both the width of its inputs and, through ``num_heads * head_dim``, the width of
its heads, so no channel of its query, key, value or output can go without a different module:
they stay fixed, with this module named as the reason. Its multiply-adds are counted exactly
as mmengine's analyzer counts them on the same call: the input and output projections
(``linear``), and the two ``bmm`` of the attention product when the attention weights are
computed (``need_weights=True``; with a mask the first product is a ``baddbmm``, which the
analyzer does not count, and without weights the product is ``scaled_dot_product_attention``,
which it does not count either).
"""
import inspect

import torch
import torch.nn.functional as F

from ..graph import CallRecord, Label, Seg
from .base import LayerHandler

_SIGNATURE = inspect.signature(F.multi_head_attention_forward)


def attention_flops(a) -> int:
    """Multiply-adds mmengine counts for one ``multi_head_attention_forward`` call, from its
    bound arguments ``a`` (query ``(L, N, E)``, key and value ``(S, N, ·)``)."""
    query, key, value = a['query'], a['key'], a['value']
    tgt, batch, embed = query.shape[0], query.shape[1] if query.dim() == 3 else 1, \
        a['embed_dim_to_check']
    src = key.shape[0]
    rows_q, rows_kv = tgt * batch, src * batch
    if not a.get('use_separate_proj_weight', False):
        if key is value:
            proj = rows_q * embed * 3 * embed if query is key else \
                rows_q * embed * embed + rows_kv * embed * 2 * embed
        else:
            proj = rows_q * embed * embed + 2 * rows_kv * embed * embed
    else:
        proj = rows_q * embed * embed + rows_kv * key.shape[-1] * embed + \
            rows_kv * value.shape[-1] * embed
    flops = proj + rows_q * embed * embed  # the output projection
    if a.get('need_weights', True):
        heads = a['num_heads']
        head_dim = embed // heads
        src_len = src if a.get('static_k') is None else a['static_k'].shape[1]
        src_len += int(a.get('bias_k') is not None) + int(bool(a.get('add_zero_attn')))
        product = batch * heads * tgt * src_len * head_dim
        masked = a.get('attn_mask') is not None or a.get('key_padding_mask') is not None
        flops += product * (1 if masked else 2)  # attention @ value, and q @ k^T as a bmm
    return int(flops)


class MultiheadAttentionLayer(LayerHandler):
    """The fused attention of ``nn.MultiheadAttention``: a counted call with fixed channels."""

    kind = 'multihead_attention'
    functions = ('multi_head_attention_forward',)

    def trace(self, tracer, args, kwargs, out):
        bound = _SIGNATURE.bind(*args, **kwargs)
        a = dict(bound.arguments)
        tensors = [a[k] for k in ('query', 'key', 'value')]
        labels = [tracer.label(t) for t in tensors]
        tracer.unsupported('nn.MultiheadAttention (its heads and embedding dimension are not '
                           'prunable)', [lab for lab in labels if lab is not None])
        result = out[0] if isinstance(out, (tuple, list)) else out
        if isinstance(result, torch.Tensor) and result.dim() >= 2:
            node = tracer.graph.new_node(result.shape[-1], 'output of nn.MultiheadAttention in '
                                         f'{tracer.where}')
            for lab in labels:
                for s in lab.segs if lab is not None else ():
                    tracer.graph.links.append((s.node, node))
            tracer.set_label(result, Label(result.dim() - 1, (Seg(node),)))
        tracer.graph.calls.append(CallRecord(
            tracer.where, self.kind, attention_flops(a), (), (),
            in_shape=tuple(tensors[0].shape), out_shape=tuple(result.shape)))

    def flops(self, call, cin, cout):
        return call.coef

    def add_flops(self, res, call, ins, outs, sizes):
        res.const += call.coef
