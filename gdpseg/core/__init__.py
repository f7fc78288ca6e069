"""The pruning engine in plain PyTorch (no OpenMMLab import): channel groups, plans, exact export.

    groups = trace_groups(model, (x,))     # channel groups from one forward pass
    plan = PruningPlan(keep=[...one index tensor per group...])
    pruned = prune(model, groups, plan)    # plain module, same outputs as the masked model

Methods sit on top (:mod:`gdpseg.methods`); GDP's gates and proximal step are
:mod:`gdpseg.methods.gdp`. :class:`ChannelGates` is what gate-based methods share.
"""
from .slicing import prune
from .channel_gates import ChannelGates
from .groups import ChannelGroups, Group, trace_groups
from .layers import LayerHandler, handler_of, register_layer
from .plan import (PruningPlan, export_widths, full_plan, keep_by_score, plan_flops, plan_params,
                   resolve)
from .resource import (RESOURCES, BilinearResource, Resource, build_resource,
                       register_resource)
from .rules import register_rule, unregister_rule
from .trace import UnsupportedOpError, trace_channels
from .verify import ExportMismatchError, export_difference, verify_groups

__all__ = ['register_rule', 'unregister_rule', 'prune', 'ChannelGates', 'Group', 'ChannelGroups',
           'trace_groups',
           'PruningPlan', 'export_widths', 'full_plan', 'keep_by_score', 'plan_flops',
           'plan_params', 'resolve',
           'Resource',
           'BilinearResource', 'RESOURCES', 'register_resource', 'build_resource',
           'LayerHandler', 'register_layer', 'handler_of',
           'UnsupportedOpError', 'trace_channels', 'ExportMismatchError', 'export_difference',
           'verify_groups']
