"""Earlier names of :class:`PruningHook` for the annealed methods (kept so configs keep working)."""
from gdpseg.registry import HOOKS

from .pruning_hook import PruningHook


@HOOKS.register_module()
class AnnealHook(PruningHook):
    """:class:`PruningHook` under its earlier name: continuous sparsification's β and naive
    SL0's ε follow the share of training done through the model's step
    (``train/anneal`` in the logs)."""
