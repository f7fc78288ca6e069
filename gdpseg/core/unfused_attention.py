"""``nn.MultiheadAttention`` written out, so that its heads and embedding dimension can be pruned.

``nn.MultiheadAttention`` runs one fused function whose widths are all tied to ``embed_dim``
(the query's width is the heads' total width), so the engine only counts it
(:mod:`gdpseg.core.layers.attention`). :func:`unfuse_attention` replaces each one by
:class:`UnfusedMultiheadAttention`: the same parameters as separate ``q_proj``/``k_proj``/
``v_proj``/``out_proj`` linear layers, the heads split with a ``num_heads`` attribute, and
``F.scaled_dot_product_attention``: the same outputs, but layers the trace follows
(:mod:`gdpseg.core.heads`), so whole heads and the input and output channels become prunable.

Checkpoints of the fused module (``in_proj_weight``, ...) load into the unfused one. It returns
no attention weights (``(output, None)``): callers that use them (rather than ``[0]``) need the
fused module.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


class UnfusedMultiheadAttention(nn.Module):
    """``nn.MultiheadAttention`` (same call and result) as plain layers; build it with
    :meth:`from_fused`."""

    def __init__(self, embed_dim: int, num_heads: int, kdim: Optional[int] = None,
                 vdim: Optional[int] = None, bias: bool = True, dropout: float = 0.0,
                 batch_first: bool = False):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f'embed_dim {embed_dim} is not a multiple of num_heads {num_heads}')
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(kdim or embed_dim, embed_dim, bias=bias)
        self.v_proj = nn.Linear(vdim or embed_dim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    @classmethod
    @torch.no_grad()
    def from_fused(cls, fused: nn.MultiheadAttention) -> 'UnfusedMultiheadAttention':
        if fused.bias_k is not None or fused.add_zero_attn:
            raise ValueError('unfuse_attention: nn.MultiheadAttention with add_bias_kv or '
                             'add_zero_attn is not supported; leave it fused '
                             '(unfuse_attention=False)')
        new = cls(fused.embed_dim, fused.num_heads, fused.kdim, fused.vdim,
                  fused.in_proj_bias is not None, fused.dropout, fused.batch_first)
        new.load_state_dict(fused.state_dict())
        return new.to(next(fused.parameters()).device)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # a checkpoint of nn.MultiheadAttention: its packed or separate projections
        e = self.embed_dim
        packed = state_dict.pop(prefix + 'in_proj_weight', None)
        for i, name in enumerate(('q', 'k', 'v')):
            w = state_dict.pop(prefix + f'{name}_proj_weight', None)
            if packed is not None:
                w = packed[i * e:(i + 1) * e]
            if w is not None:
                state_dict[prefix + f'{name}_proj.weight'] = w
        bias = state_dict.pop(prefix + 'in_proj_bias', None)
        if bias is not None:
            for i, name in enumerate(('q', 'k', 'v')):
                state_dict[prefix + f'{name}_proj.bias'] = bias[i * e:(i + 1) * e]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _heads(self, x: torch.Tensor, proj: nn.Linear) -> torch.Tensor:
        n, length = x.shape[0], x.shape[1]
        return proj(x).reshape(n, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query[None], key[None], value[None]
            key_padding_mask = None if key_padding_mask is None else key_padding_mask[None]
        elif not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        n, length, source = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = (self._heads(t, p) for t, p in ((query, self.q_proj), (key, self.k_proj),
                                                  (value, self.v_proj)))
        mask = _additive(attn_mask, q.dtype)
        if mask is not None and mask.dim() == 3:  # (N·heads, L, S)
            mask = mask.view(n, self.num_heads, length, source)
        pad = _additive(key_padding_mask, q.dtype)
        if pad is not None:
            pad = pad.view(n, 1, 1, source)
            mask = pad if mask is None else mask + pad
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
            is_causal=is_causal and mask is None)
        out = self.out_proj(out.transpose(1, 2).reshape(n, length, -1))
        if unbatched:
            out = out[0]
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, None


def _additive(mask, dtype):
    """A boolean mask (True: masked) as an additive one; a float mask as it is."""
    if mask is None or mask.is_floating_point():
        return mask
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
        mask, float('-inf'))


def unfuse_attention(model: nn.Module) -> int:
    """Replace every ``nn.MultiheadAttention`` in ``model`` by :class:`UnfusedMultiheadAttention`
    (same parameters and outputs); returns how many were replaced."""
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.MultiheadAttention):
                setattr(parent, name, UnfusedMultiheadAttention.from_fused(child))
                count += 1
    return count
