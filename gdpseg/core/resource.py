"""Resources: costs over the widths of the channel groups, pluggable by name.

A resource has ``value(widths)`` and ``grad(widths)`` (the coefficient of each group's width,
the other widths held; Algorithm 1, line 4). The built-in ones are bilinear (paper Eq. 5):

    R(n) = Σ_{p<q} M_pq n_p n_q + Σ_p D_p n_p² + Σ_p b_p n_p + const

FLOPs of a conv/linear layer are (multiply-adds per input-output channel pair) × C_in × C_out,
so the network's FLOPs are exactly bilinear in the groups' widths. Coefficients come from the
traced calls through their layer handlers; counts follow mmengine's analyzer (one fused
multiply-add is one flop; biases, norms and activations are not counted).

A new resource (a fitted latency table, memory, ...) is a function ``groups -> Resource``
registered with :func:`register_resource` and chosen by name: ``attach_gates(...,
resource='latency')`` or ``resource=dict(type='latency', table=...)``.
"""
from typing import Callable, Dict, Sequence, Union

import torch

from .layers import handler_of
from .plan import export_widths, plan_flops, plan_params


class Resource:
    """A cost over group widths (all groups, in the order of ``ChannelGroups.groups``)."""

    def value(self, widths: Sequence[float]) -> float:
        raise NotImplementedError

    def grad(self, widths: Sequence[float]) -> torch.Tensor:
        """d value / d width of each group at ``widths`` (float64, one entry per group)."""
        raise NotImplementedError

    def plan_value(self, groups, plan) -> float:
        """The resource of the export of a :class:`~gdpseg.core.plan.PruningPlan`: ``value``
        at the plan's widths, a silent group (its placeholder read with weight zero) counted
        as width 0. A resource with an exact count of an export overrides this."""
        return self.value(export_widths(groups, plan))


class BilinearResource(Resource):
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

    def relaxed(self, widths: torch.Tensor) -> torch.Tensor:
        """R at real-valued widths, differentiable (for penalties on relaxed widths, e.g. the
        sum of a group's soft masks)."""
        n = widths.to(torch.float64)
        return 0.5 * n @ self.pair @ n + self.diag @ (n * n) + self.lin @ n + self.const

    def grad(self, counts: Sequence[float]) -> torch.Tensor:
        """Σ_{k≠l} a_lk n_k + b_l per group (the coefficient of n_l in Algorithm 1, line 4).

        A self-pair D_l n_l² (a layer reading and writing the same group) contributes D_l n_l,
        i.e. one factor is held at its current count like the other groups' counts.
        """
        n = torch.as_tensor(counts, dtype=torch.float64)
        return self.pair @ n + self.diag * n + self.lin


RESOURCES: Dict[str, Callable[..., Resource]] = {}


def register_resource(name: str):
    """Decorator: register ``builder(groups, **kwargs) -> Resource`` under ``name``."""
    def wrap(builder):
        if name in RESOURCES:
            raise KeyError(f'a resource named {name!r} is registered already')
        RESOURCES[name] = builder
        return builder
    return wrap


def build_resource(spec: Union[str, dict, Resource], groups) -> Resource:
    """A resource over ``groups`` from a name, ``dict(type=name, **kwargs)`` or an instance."""
    if isinstance(spec, Resource):
        return spec
    kwargs = {}
    if isinstance(spec, dict):
        kwargs = {k: v for k, v in spec.items() if k != 'type'}
        spec = spec.get('type')
    if spec not in RESOURCES:
        raise KeyError(f'unknown resource {spec!r}; registered: {sorted(RESOURCES)} '
                       '(add one with gdpseg.core.register_resource; the measured latency '
                       "model registers 'latency' when gdpseg.deploy is imported)")
    return RESOURCES[spec](groups, **kwargs)


def _seg_groups(groups, segs):
    return [(groups.group_index(s), s.expand) for s in segs]


class FlopsResource(BilinearResource):
    """Bilinear FLOPs for the proximal step; the exact count of an export for plans (layers a
    dead group leaves without readers are removed by export, which the bilinear form cannot
    see)."""

    def plan_value(self, groups, plan) -> float:
        return float(plan_flops(groups, plan))


@register_resource('flops')
def flops_resource(groups) -> BilinearResource:
    """conv/linear multiply-adds of every counted call, bilinear in the group widths."""
    res = FlopsResource(len(groups.groups))
    sizes = [g.size for g in groups.groups]
    for call in groups.counted_calls():
        handler_of(call.kind).add_flops(res, call, _seg_groups(groups, call.in_segs),
                                        _seg_groups(groups, call.out_segs), sizes)
    return res


class ParamsResource(BilinearResource):
    """Bilinear parameter count; the exact count of an export for plans."""

    def plan_value(self, groups, plan) -> float:
        return float(plan_params(groups, plan))


@register_resource('params')
def params_resource(groups) -> BilinearResource:
    """Parameter count of the model, bilinear in the group widths."""
    res = ParamsResource(len(groups.groups))
    sizes = [g.size for g in groups.groups]
    modules = dict(groups.model.named_modules())
    covered = 0
    for rec in groups.graph.modules.values():
        module = modules[rec.name]
        covered += sum(p.numel() for p in module.parameters(recurse=False))
        handler_of(rec.kind).add_params(res, module, rec, _seg_groups(groups, rec.in_segs or ()),
                                        _seg_groups(groups, rec.out_segs or ()), sizes)
    res.const += sum(p.numel() for p in groups.model.parameters()) - covered
    return res
