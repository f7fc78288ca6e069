"""Where training stands, as a pruning method's step sees it."""
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional


def _nothing(*args) -> None:
    return None


@dataclass
class TrainState:
    """Where training stands, as a method's step sees it (no Runner needed: a plain loop can
    fill it in).

    Attributes:
        iter: Iterations done, this one included (0 before the first).
        max_iters: Iterations of the whole run.
        updated: Whether this iteration's optimizer step updated the parameters (gradient
            accumulation skips some).
        epoch: Epochs done.
        lr_of: ``lr_of(params)``: the learning rate of the optimizer group holding ``params``.
        optimizer: The torch optimizer (a method may clear state of parameters it zeroes).
        logger: Something with ``info(msg)`` and ``warning(msg)``.
        info: ``info(key, value)``: a value the logs and checkpoints show (not averaged).
        scalar: ``scalar(key, value)``: a scalar the logger averages over its interval.
    """

    iter: int
    max_iters: int
    updated: bool = True
    epoch: int = 0
    lr_of: Optional[Callable[[Iterable], float]] = None
    optimizer: Any = None
    logger: Any = None
    info: Callable[[str, Any], None] = field(default=_nothing)
    scalar: Callable[[str, float], None] = field(default=_nothing)
