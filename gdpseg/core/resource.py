"""Bilinear resource models R(c) = Σ a_lk c_l c_k + Σ b_l c_l (+ const) over group widths.

FLOPs of a conv/linear layer are (multiply-adds per input-output channel pair) × C_in × C_out,
so the network's FLOPs are exactly bilinear in the live channels of the groups (paper Eq. 5).
Coefficients come from the traced call shapes; counts follow mmengine's analyzer (one fused
multiply-add is one flop; biases, norms and activations are not counted for conv/linear).
"""
import math
from typing import Sequence

import torch
import torch.nn as nn

from .graph import Seg


class BilinearResource:
    """R(n) = Σ_{p<q} M_pq n_p n_q + Σ_p D_p n_p² + Σ_p b_p n_p + const over group widths n."""

    def __init__(self, num_groups: int):
        self.pair = torch.zeros(num_groups, num_groups, dtype=torch.float64)  # symmetric, 0 diag
        self.diag = torch.zeros(num_groups, dtype=torch.float64)
        self.lin = torch.zeros(num_groups, dtype=torch.float64)
        self.const = 0.0

    def add_pair(self, p: int, q: int, coef: float) -> None:
        if p == q:
            self.diag[p] += coef
        else:
            self.pair[p, q] += coef
            self.pair[q, p] += coef

    def value(self, counts: Sequence[float]) -> float:
        n = torch.as_tensor(counts, dtype=torch.float64)
        return float(0.5 * n @ self.pair @ n + self.diag @ (n * n) + self.lin @ n + self.const)

    def grad(self, counts: Sequence[float]) -> torch.Tensor:
        """Σ_{k≠l} a_lk n_k + b_l per group (the coefficient of n_l in Algorithm 1, line 4).

        A self-pair D_l n_l² (a layer reading and writing the same group) contributes D_l n_l,
        i.e. one factor is held at its current count like the other groups' counts.
        """
        n = torch.as_tensor(counts, dtype=torch.float64)
        return self.pair @ n + self.diag * n + self.lin


def _seg_groups(gates, segs):
    return [(gates.group_index(s), s.expand) for s in segs]


def build_flops(graph, gates) -> BilinearResource:
    """conv/linear multiply-adds of every traced call, as a bilinear function of group widths."""
    res = BilinearResource(len(gates.groups))
    for call in gates.counted_calls():
        ins = _seg_groups(gates, call.in_segs)
        if call.depthwise:
            for p, e in ins:
                res.lin[p] += call.coef * e
            continue
        outs = _seg_groups(gates, call.out_segs)
        if call.groups != 1:  # grouped convs keep all channels: a constant
            sizes = [gates.groups[p].size * e for p, e in ins]
            res.const += call.coef * sum(sizes) * sum(gates.groups[q].size * e for q, e in outs)
            continue
        for p, ep in ins:
            for q, eq in outs:
                res.add_pair(p, q, call.coef * ep * eq)
    return res


def build_params(graph, gates, model: nn.Module) -> BilinearResource:
    """Parameter count of the model as a bilinear function of group widths."""
    res = BilinearResource(len(gates.groups))
    modules = dict(model.named_modules())
    covered = 0
    for rec in graph.modules.values():
        module = modules[rec.name]
        own = sum(p.numel() for p in module.parameters(recurse=False))
        covered += own
        ins = _seg_groups(gates, rec.in_segs or ())
        weight = getattr(module, 'weight', None)
        bias = getattr(module, 'bias', None)
        if rec.kind in ('depthwise', 'norm'):
            per_channel = own / max(1, sum(gates.groups[p].size * e for p, e in ins))
            for p, e in ins:
                res.lin[p] += per_channel * e
            continue
        out = gates.group_index(Seg(rec.out_node))
        groups = getattr(module, 'groups', 1)
        if groups != 1:
            res.const += own
            continue
        k = math.prod(weight.shape[2:]) if weight is not None and weight.dim() > 2 else 1
        for p, e in ins:
            res.add_pair(p, out, k * e)
        if isinstance(bias, torch.Tensor):
            res.lin[out] += 1
    res.const += sum(p.numel() for p in model.parameters()) - covered
    return res
