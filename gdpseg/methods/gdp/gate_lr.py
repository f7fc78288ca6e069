"""The gates' learning rate from the run's length: a floor on the sum of the gate lr over the run.

GDP's ``TargetLambda`` derives λ from the gates' learning rate so that the thresholds of the
proximal step bring α to zero over the ramp: their sum is fixed, whatever the run's length.
The loss's pull on α adds up over the steps instead, as Σ_t η_t · ∂L/∂α. In a short run it is
too weak to decide which channels go, and a group's channels leave in the order of their FLOPs
per channel (measured: docs/baselines.md). Fixing Σ_t η_t, the sum of the gates' learning rate
over the run, fixes that balance for runs of any length and schedule. As a floor
(``GDPHook(min_gate_lr_sum=S)``), a short run gets the balance of a longer one and a run that is
long enough keeps its configured lr.

The sum is in the units of SGD's steps (η·gradient): the rule is for SGD (with momentum). With
Adam, α moves by about η per step whatever the gradient, so Σ η bounds α's whole movement and a
floor chosen for SGD would let the gates wander: leave it off (``None``) there.
"""
import warnings
from typing import List, Optional

from mmengine.model import is_model_wrapper

from gdpseg.engine.hooks.pruning_hook import groups_holding


def gate_groups(optimizer, gates) -> List[int]:
    """Indices of the optimizer's parameter groups that hold gate parameters."""
    found = groups_holding(optimizer, gates.parameters())
    if not found:
        raise ValueError('the optimizer has no gate parameters; build it with '
                         "constructor='GDPOptimWrapperConstructor' (gdpseg scope)")
    return found


def _schedulers(runner):
    schedulers = runner.param_schedulers or []
    if isinstance(schedulers, dict):
        raise ValueError('gate_lr_sum supports one optimizer; this run has several '
                         f'({sorted(schedulers)}): set optim_wrapper.paramwise_cfg.gate_lr_mult')
    return list(schedulers)


def scheduled_lr_sum(runner, group: int, peak: bool = False):
    """Σ over the run's iterations of the learning rate the parameter schedulers give the
    optimizer's group ``group``: the schedulers are stepped on the side as ParamSchedulerHook
    steps them (iteration-based ones after every iteration, epoch-based ones after every epoch
    of the train dataloader), then put back as they were. With ``peak``: ``(sum, largest)``."""
    optimizer = runner.optim_wrapper.optimizer
    schedulers = _schedulers(runner)
    # the wrapper's groups: with several groups MMEngine adds the base settings it logs as
    # base_lr, which the schedulers step too
    every = getattr(runner.optim_wrapper, 'param_groups', optimizer.param_groups)
    saved_groups = [{k: v for k, v in g.items() if k != 'params'} for g in every]
    saved = [s.state_dict() for s in schedulers]
    epoch = None
    if any(s.by_epoch for s in schedulers):
        epoch = len(runner.train_dataloader)
    total = largest = 0.0
    try:
        with warnings.catch_warnings():  # stepping schedulers without optimizer steps
            warnings.simplefilter('ignore')
            for t in range(runner.max_iters):
                lr = float(optimizer.param_groups[group]['lr'])
                total += lr
                largest = max(largest, lr)
                for s in schedulers:
                    if not s.by_epoch or (t + 1) % epoch == 0:
                        s.step()
    finally:
        for g, values in zip(every, saved_groups):
            g.update(values)
        for s, state in zip(schedulers, saved):
            s.load_state_dict(state)
    return (total, largest) if peak else total


def set_gate_lr_sum(runner, target: float, floor: bool = False,
                    max_lr: Optional[float] = None) -> float:
    """Scale the gates' learning rate (every gate group, and the schedulers' record of it) so
    that its sum over the run is ``target`` (with ``floor``: at least ``target``, never
    lowered), its largest value staying at or below ``max_lr`` (a run too short to reach the
    sum at that rate gets less); returns the factor applied."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    optimizer = runner.optim_wrapper.optimizer
    groups = gate_groups(optimizer, model.gates)
    applied = 1.0
    # a schedule with a floor (eta_min) is not exactly proportional to its start: repeat
    for _ in range(6):
        total, largest = scheduled_lr_sum(runner, groups[0], peak=True)
        if not total > 0:
            raise ValueError('gate_lr_sum: the gates\' learning rate is 0 over the whole run')
        factor = target / total
        if max_lr is not None:
            factor = min(factor, max_lr / largest)
        if abs(factor - 1) < 1e-9 or (floor and factor <= 1):
            break
        applied *= factor
        for i in groups:
            group = optimizer.param_groups[i]
            group['lr'] *= factor
            if 'initial_lr' in group:
                group['initial_lr'] *= factor
        for s in _schedulers(runner):
            if getattr(s, 'param_name', None) != 'lr':
                continue
            for i in groups:
                s.base_values[i] *= factor
                if getattr(s, '_last_value', None):
                    s._last_value[i] *= factor
    return applied
