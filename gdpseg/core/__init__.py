"""The GDP method in plain PyTorch (no OpenMMLab import).

    gates = attach_gates(model, (x,))       # channel groups from one forward pass; gates on
    ...train; after each optimizer step: gates.prox_step(lr, lam); decay ε: gates.set_eps(...)
    pruned = prune(model, gates)           # plain module, same outputs as the gated model

Without GDP, any method exports through the same path:

    groups = trace_groups(model, (x,))
    plan = PruningPlan(keep=[...one index tensor per group...])
    pruned = prune(model, groups, plan)
"""
from .slicing import prune
from .gates import GateSet, attach_gates, polarized_gate
from .groups import ChannelGroups, Group, trace_groups
from .layers import LayerHandler, handler_of, register_layer
from .plan import (PruningPlan, export_widths, full_plan, keep_by_score, plan_flops, plan_params,
                   resolve)
from .prox import alternating_prox, soft_threshold
from .resource import (RESOURCES, BilinearResource, Resource, build_resource,
                       register_resource)
from .rules import register_rule, unregister_rule
from .schedule import EpsilonSchedule
from .trace import UnsupportedOpError, trace_channels
from .verify import ExportMismatchError, export_difference, verify_groups

__all__ = ['register_rule', 'unregister_rule', 'attach_gates', 'prune', 'GateSet', 'Group', 'ChannelGroups', 'trace_groups',
           'PruningPlan', 'export_widths', 'full_plan', 'keep_by_score', 'plan_flops',
           'plan_params', 'resolve',
           'polarized_gate', 'soft_threshold', 'alternating_prox', 'Resource',
           'BilinearResource', 'RESOURCES', 'register_resource', 'build_resource',
           'EpsilonSchedule', 'LayerHandler', 'register_layer', 'handler_of',
           'UnsupportedOpError', 'trace_channels', 'ExportMismatchError', 'export_difference',
           'verify_groups']
