"""GDP as an MMEngine model: any task model, gated, with the gate set as a submodule."""
from typing import Optional

import torch
from mmengine.logging import print_log

from gdpseg.core.forward import call_forward
from gdpseg.models.algorithms.base import PruningAlgorithm
from gdpseg.registry import MODELS

from .gates import GateSet
from .step import GDPStep


@MODELS.register_module()
class GDPAlgorithm(PruningAlgorithm):
    """Wrap a task model with GDP gates.

    Gates are attached once, on the channel groups of :class:`PruningAlgorithm`, and are
    trained as ``self.gates`` (parameters ``gates.alphas.*``, buffer ``gates.eps``), so
    checkpoints carry them. Distributed training uses MMEngine's own wrapper
    (``launcher=pytorch``).

    Args:
        architecture: The task model (config or module).
        **options: What every method shares (``input_shape``, ``forward_mode``, ``exclude``,
            ``min_channels``, ``channel_multiple``, ``strict``): see :class:`PruningAlgorithm`.
        eps: Initial ε of the gates.
        init: Initial α.
        resource: What the proximal step penalises: ``'flops'`` (default), ``'params'`` or any
            resource registered with :func:`gdpseg.core.register_resource` (or its dict).
        keep_connected: Groups whose death would cut the input from an output (the stem, a
            trunk) keep at least one channel; ``False`` lets any group die.
        max_death_share: Keep (at least one channel of) every group whose death alone would
            remove more than this share of the FLOPs (see :class:`GateSet`); ``None``: the
            paper's rule, any group outside ``keep_connected`` may die.
        init_spread: Start each α at ``init · (1 − init_spread · u)``, u uniform in [0, 1)
            (from the run's seed), instead of all at ``init`` (the paper). With equal α, the
            proximal step lowers a group's α by the same β while the loss gradient through a
            polarized gate is small, so a group's channels reach zero at the same step: whole
            groups collapse at once. A spread lets them leave one by one. Off by default.
        cost_exponent: Temper the proximal thresholds: group l's threshold is proportional to
            c_l^p instead of its resource coefficient c_l (its FLOPs per channel), with the
            live channels' total threshold kept (:mod:`.prox`). 1 (default) is the paper; 0
            gives every channel the same threshold, so the loss alone decides which go and
            the resource only how many.

    A checkpoint of the *ungated* task model (the baseline) loads into this wrapper directly
    (``load_from`` in a config): the gates keep their initial values.
    """

    def __init__(self, architecture, eps: float = 0.1, init: float = 1.0, resource='flops',
                 keep_connected: bool = True, init_spread: float = 0.0,
                 max_death_share: Optional[float] = None, cost_exponent: float = 1.0,
                 **options):
        if not 0 <= init_spread < 1:
            raise ValueError(f'init_spread must be in [0, 1), got {init_spread}')
        if not 0 <= cost_exponent <= 1:
            raise ValueError(f'cost_exponent must be in [0, 1] (1: the paper), got '
                             f'{cost_exponent}')
        super().__init__(architecture, **options)
        self.init = float(init)
        self.gates: GateSet = self.build_gates(eps, init, resource, keep_connected,
                                               max_death_share)
        self.gates.cost_exponent = float(cost_exponent)
        self.init_spread = float(init_spread)
        self.gdp_step: Optional[GDPStep] = None  # given by GDPHook (use_step)
        if init_spread:
            with torch.no_grad():
                for alpha, group in zip(self.gates.alphas, self.gates.groups):
                    if group.prunable:
                        alpha.mul_(1 - init_spread * torch.rand(alpha.shape))

    gated = True

    def build_gates(self, eps, init, resource, keep_connected, max_death_share) -> GateSet:
        """The gates on this model's channel groups (a variant of GDP overrides this)."""
        return GateSet(self._groups, eps, init, resource, keep_connected, max_death_share)

    def plan(self):
        """The pruning plan of the gates now (:meth:`GateSet.plan`)."""
        return self.gates.plan()

    def reference_outputs(self, plan, example):
        """The gated architecture: its gates compute the plan's function."""
        return call_forward(self.architecture, (example,), self.forward_fn)

    # ------------------------------------------------------------ the step protocol
    def use_step(self, step: GDPStep) -> None:
        """Train with ``step`` (λ, ε's decay): :class:`GDPHook` gives its own."""
        self.gdp_step = step

    def _step(self) -> GDPStep:
        if self.gdp_step is None:
            raise RuntimeError("GDPAlgorithm trains with GDP's step: add "
                               "dict(type='GDPHook', lam=...) to custom_hooks")
        return self.gdp_step

    def before_train(self, state):
        self._step().before_train(self.gates, state)

    def after_step(self, state):
        self._step().after_step(self.gates, state)

    def after_epoch(self, state):
        self._step().after_epoch(self.gates, state)

    def after_train(self, state):
        self._step().after_train(self.gates, state)

    def step_state_dict(self) -> dict:
        return self.gdp_step.state_dict() if self.gdp_step is not None else {}

    def load_step_state_dict(self, state: dict) -> None:
        self._step().load_state_dict(state)

    def from_baseline(self, state_dict, prefix):
        super().from_baseline(state_dict, prefix)
        spread = f' x (1 - {self.init_spread:g}·u)' if self.init_spread else ''
        print_log(f'loaded a baseline checkpoint (no GDP gates): the gates start at their '
                  f'initial values (α={self.init:g}{spread}, ε={float(self.gates.eps):g})',
                  logger='current')
