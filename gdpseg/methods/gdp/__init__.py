"""GDP -- Gates with Differentiable Polarization -- in one package, read in this order:

1. :mod:`.gates` -- the gates g(α) = α² / (α² + ε) on every channel group (paper Eq. 2) on top of
   the engine's shared :class:`~gdpseg.core.ChannelGates`, and the proximal step after every
   optimizer step (Algorithm 1), with the floor a budget needs and the groups it keeps alive.
2. :mod:`.prox` -- the closed-form soft threshold (Eq. 9) and the alternating passes over groups
   under the bilinear resource R (FLOPs, parameters or latency from :mod:`gdpseg.core.resource`).
3. :mod:`.schedule` -- ε's decay (×factor every period), with a floor.
4. :mod:`.lambdas` -- what weight λ the resource gets at each step: a constant (the paper) or a
   controller that lands training on a target ratio.
5. :mod:`.algorithm` -- any task model wrapped with the gates as an MMEngine model; its plan
   keeps the channels with α ≠ 0 and folds the gate values, which ``tools/prune.py`` exports.
6. :mod:`.step` -- the training step: after every optimizer step, λ from the controller, the
   proximal step, ε's decay, warnings about dead groups and bottlenecks; the algorithm runs it
   from the step protocol every method has. :mod:`.hook` -- the hook that feeds it inside
   MMEngine's Runner (``GDPHook``: the step's settings); :mod:`.optim` -- the gates' parameter
   group (own lr, no weight decay); :mod:`.gate_lr` -- the gates' lr from a set sum over the
   run (``GDPHook(gate_lr_sum=...)``), which fixes the balance of the loss's pull and the
   thresholds for runs of any length; :mod:`.visual_hook` -- polarization and FLOPs curves, gate
   histograms.
7. :mod:`.kernel_gates` -- the paper's ablation with gates of conv kernels (Eq. 10).

In plain PyTorch (no Runner)::

    gates = attach_gates(model, (x,))       # channel groups from one forward pass; gates on
    ...train; after each optimizer step: gates.prox_step(lr, lam); decay ε: gates.set_eps(...)
    pruned = prune(model, gates)           # plain module, same outputs as the gated model
"""
from .algorithm import GDPAlgorithm
from .gates import GateSet, attach_gates, death_shares, polarized_gate
from .hook import GDPHook
from .kernel_gates import KernelGDP, KernelNormGates
from .lambdas import ConstantLambda, LambdaController, TargetLambda
from .optim import GDPOptimWrapperConstructor
from .prox import alternating_prox, soft_threshold
from .schedule import EpsilonSchedule
from .step import GDPStep, clear_zeroed_state
from .visual_hook import GDPVisualHook

__all__ = ['ConstantLambda', 'EpsilonSchedule', 'GDPAlgorithm', 'GDPHook',
           'GDPOptimWrapperConstructor', 'GDPStep', 'GDPVisualHook', 'GateSet', 'KernelGDP',
           'KernelNormGates', 'LambdaController', 'TargetLambda', 'alternating_prox',
           'attach_gates', 'clear_zeroed_state', 'death_shares', 'polarized_gate',
           'soft_threshold']
