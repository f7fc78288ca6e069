"""The GDP method in plain PyTorch (no OpenMMLab import).

    gates = attach_gates(model, (x,))       # channel groups from one forward pass; gates on
    ...train; after each optimizer step: gates.prox_step(lr, lam); decay ε: gates.set_eps(...)
    pruned = prune(model, gates)           # plain module, same outputs as the gated model
"""
from .export import prune
from .gates import GateSet, Group, attach_gates, polarized_gate
from .prox import alternating_prox, soft_threshold
from .resource import BilinearResource
from .schedule import EpsilonDecay
from .trace import UnsupportedOpError, trace_channels

__all__ = ['attach_gates', 'prune', 'GateSet', 'Group', 'polarized_gate', 'soft_threshold',
           'alternating_prox', 'BilinearResource', 'EpsilonDecay', 'UnsupportedOpError',
           'trace_channels']
