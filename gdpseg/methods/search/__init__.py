"""Architecture-hyperparameter search under a budget on the engine's channel groups: a
weight-sharing (slimmable) network whose groups keep their leading channels
(:mod:`.slimmable`), and a greedy search of the widths under a FLOPs budget on held-out data
(:mod:`.greedy`). The found widths are a plan, exported by the same ``prune`` path."""
from .greedy import greedy_search
from .slimmable import SlimmableNetwork, WidthGates

__all__ = ['SlimmableNetwork', 'WidthGates', 'greedy_search']
