"""Greedy search of a slimmable network's widths under a resource budget.

From the largest widths, each step tries narrowing every prunable group by ``step`` of its
channels (never below the network's smallest width; then removing the group where the space
skips blocks) and, where the space has input resolutions, the next lower resolution, and keeps
the candidate whose held-out score is best, until the resource is within the budget: AutoSlim's
greedy slimming (Yu & Huang 2019). The last step can land far under the budget (a step of the
resolution removes a quarter of the FLOPs at once), so the search then spends what is left: it
widens, one group by half a step (or the resolution by one size) at a time, the best-scored of
the candidates still within the budget, until none is (``fill``).
Greedy, not evolutionary, because one step costs one evaluation per group (tens, not thousands
of subnets) and the budget is one monotone constraint that narrowing always approaches; an
evolutionary search would spend most evaluations on subnets off the budget.
"""
from typing import Callable, List, Sequence


def greedy_search(model, evaluate: Callable[[], float], budget: float,
                  resource: Callable[[Sequence[int]], float], step: float = 0.1,
                  log: Callable[[str], None] = lambda msg: None, fill: bool = True,
                  unit: str = '') -> dict:
    """Narrow ``model``'s widths (a :class:`SlimmableNetwork`) until ``resource(widths) <=
    budget``.

    Args:
        evaluate: The held-out score of the model at its current widths (higher is better).
        budget: The largest resource allowed (same unit as ``resource``).
        resource: The resource of the network at given widths and the model's current
            resolution (e.g. exact FLOPs of their plan there).
        step: Share of a group's channels one narrowing removes (at least one channel).
        fill: Then widen within the budget (half a step at a time) while a candidate fits.
        unit: The resource's unit, for messages (``'FLOPs'``, ``'ms'``).

    Returns:
        dict: ``widths`` and ``resolution`` found, their ``resource`` and ``score``,
        ``history`` (one entry per narrowing: the group narrowed, or ``input resolution``, its
        new width, the resource and score) and ``filled`` (the widenings after it, alike).

    Raises:
        ValueError: When even the smallest widths exceed the budget.
    """
    gates = model.gates
    sizes = list(getattr(model, 'resolutions', [None]))
    low = model.smallest_widths()
    _at(model, sizes[0])
    least = resource(low)
    widths, size = list(model.full_widths()), sizes[-1]
    history: List[dict] = []
    _at(model, size)
    cost = resource(widths)
    if least > budget:
        u = f' {unit}' if unit else ''
        raise ValueError(f'the budget {budget:.6g}{u} is below what the smallest widths of the '
                         f'space need ({least:.6g}{u}' +
                         (f' at resolution {sizes[0]}' if sizes[0] is not None else '') +
                         f', {100 * least / cost:.1f} % of the full network\'s {cost:.6g}{u}): '
                         'lower min_share, or raise the budget')
    try:
        while cost > budget:
            best = None
            trials = [(i, model.narrower(i, widths[i], step), size)
                      for i in range(len(gates.groups))]
            if size is not None and sizes.index(size) > 0:  # the next lower resolution
                trials.append((None, None, sizes[sizes.index(size) - 1]))
            for i, narrower, trial_size in trials:
                if i is not None and narrower is None:
                    continue
                trial = list(widths)
                if i is not None:
                    trial[i] = narrower
                gates.set_widths(trial)
                _at(model, trial_size)
                score, trial_cost = evaluate(), resource(trial)
                key = (score, cost - trial_cost)
                if best is None or key > best[0]:
                    best = (key, i, trial, trial_size, trial_cost)
            if best is None:  # cannot happen while the smallest widths are within the budget
                raise ValueError('no group can be narrowed further')
            (score, _), i, widths, size, cost = best
            name = 'input resolution' if i is None else gates.groups[i].name
            value = size if i is None else widths[i]
            history.append(dict(group=name, width=value, resource=cost, score=score))
            log(f'narrowed {name} to {value}: resource {cost:.6g}, score {score:.4f}')
        filled: List[dict] = []
        if fill and history:
            widths, size, cost = _fill(model, evaluate, budget, resource, step / 2,
                                       (widths, size, cost), filled, log)
    finally:
        gates.set_widths(widths)
        _at(model, size)
    last = (filled or history)[-1]['score'] if history else None
    return dict(widths=widths, resolution=size, resource=cost, score=last, history=history,
                filled=filled)


def _fill(model, evaluate, budget, resource, step, state, filled, log):
    """Widen within the budget after the narrowing, the best-scored candidate first (see the
    module); append each widening to ``filled``; return the widths, resolution and resource."""
    gates, sizes = model.gates, list(getattr(model, 'resolutions', [None]))
    full = model.full_widths()
    widths, size, cost = state
    while True:
        trials = [(i, min(full[i], widths[i] + max(1, int(step * full[i]))), size)
                  for i, g in enumerate(gates.groups)
                  if g.prunable and 0 < widths[i] < full[i]]
        if size is not None and sizes.index(size) < len(sizes) - 1:  # the next higher one
            trials.append((None, None, sizes[sizes.index(size) + 1]))
        best = None
        for i, wider, trial_size in trials:
            trial = list(widths)
            if i is not None:
                trial[i] = wider
            gates.set_widths(trial)
            _at(model, trial_size)
            trial_cost = resource(trial)
            if trial_cost > budget:
                continue
            key = (evaluate(), trial_cost)
            if best is None or key > best[0]:
                best = (key, i, trial, trial_size, trial_cost)
        if best is None:
            return widths, size, cost
        (score, _), i, widths, size, cost = best
        name = 'input resolution' if i is None else gates.groups[i].name
        value = size if i is None else widths[i]
        filled.append(dict(group=name, width=value, resource=cost, score=score))
        log(f'widened {name} to {value}: resource {cost:.6g}, score {score:.4f}')


def _at(model, size) -> None:
    if size is not None:
        model.set_resolution(size)
