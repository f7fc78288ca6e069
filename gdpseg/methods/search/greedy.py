"""Greedy search of a slimmable network's widths under a resource budget.

From the largest widths, each step tries narrowing every prunable group by ``step`` of its
channels (never below the network's smallest width; then removing the group where the space
skips blocks) and keeps the candidate whose held-out score is best, until the resource is within
the budget: AutoSlim's greedy slimming (Yu & Huang 2019).
Greedy, not evolutionary, because one step costs one evaluation per group (tens, not thousands
of subnets) and the budget is one monotone constraint that narrowing always approaches; an
evolutionary search would spend most evaluations on subnets off the budget.
"""
from typing import Callable, List, Sequence


def greedy_search(model, evaluate: Callable[[], float], budget: float,
                  resource: Callable[[Sequence[int]], float], step: float = 0.1,
                  log: Callable[[str], None] = lambda msg: None) -> dict:
    """Narrow ``model``'s widths (a :class:`SlimmableNetwork`) until ``resource(widths) <=
    budget``.

    Args:
        evaluate: The held-out score of the model at its current widths (higher is better).
        budget: The largest resource allowed (same unit as ``resource``).
        resource: The resource of the network at given widths (e.g. exact FLOPs of their plan).
        step: Share of a group's channels one narrowing removes (at least one channel).

    Returns:
        dict: ``widths`` found, their ``resource`` and ``score``, and ``history`` (one entry
        per step: the group narrowed, the widths' resource and score).

    Raises:
        ValueError: When even the smallest widths exceed the budget.
    """
    gates = model.gates
    low = model.smallest_widths()
    if resource(low) > budget:
        raise ValueError(f'the budget {budget:.6g} is below what the smallest widths of the '
                         f'space need ({resource(low):.6g}): lower min_share, or raise the '
                         'budget')
    widths = list(model.full_widths())
    history: List[dict] = []
    cost = resource(widths)
    try:
        while cost > budget:
            best = None
            for i, g in enumerate(gates.groups):
                narrower = model.narrower(i, widths[i], step)
                if narrower is None:
                    continue
                trial = list(widths)
                trial[i] = narrower
                gates.set_widths(trial)
                score, trial_cost = evaluate(), resource(trial)
                key = (score, cost - trial_cost)
                if best is None or key > best[0]:
                    best = (key, i, trial, trial_cost)
            if best is None:  # cannot happen while the smallest widths are within the budget
                raise ValueError('no group can be narrowed further')
            (score, _), i, widths, cost = best
            history.append(dict(group=gates.groups[i].name, width=widths[i], resource=cost,
                                score=score))
            log(f'narrowed {gates.groups[i].name} to {widths[i]}: resource {cost:.6g}, '
                f'score {score:.4f}')
    finally:
        gates.set_widths(widths)
    return dict(widths=widths, resource=cost, score=history[-1]['score'] if history else None,
                history=history)
