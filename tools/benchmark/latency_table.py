"""Latency of original and exported networks: PyTorch CPU and ONNX Runtime CPU, batch 1.

    python tools/benchmark/latency_table.py [--models resnet50 deeplabv3plus]
        [--ratios 0.6 0.37 0.2] [--threads 2] [--tables work_dirs/latency]

For each model and FLOPs ratio, two plans of equal FLOPs are made without data, by GDP's
proximal step alone from α drawn uniformly in (0, 1) (seeded): one penalising FLOPs, one
penalising the measured latency model (``gdpseg.deploy.latency``, measured here first and cached
in ``--tables``). Each plan is exported with and without ``channel_multiple=8`` and timed; the
table gives the latency ratio against the FLOPs ratio. Each export is timed in turns with the
unpruned network (the shortest of several rounds each), so the ratios hold on a machine whose
speed drifts; the predicted columns are the latency model's ratio and milliseconds. Weights are
random: latency does not depend on them. Plans made this way say which *shapes* each resource
prefers, not what accuracy they keep.
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch

from gdpseg.core import (PruningPlan, full_plan, keep_by_score, plan_flops, prune, resolve,
                         trace_groups)
from gdpseg.deploy import Timer, load_table, measure_latency_table
from gdpseg.deploy.latency import latency_resource
from gdpseg.methods.gdp import GateSet


def build(name):
    if name == 'resnet50':
        import torchvision
        return torchvision.models.resnet50().eval(), (1, 3, 224, 224)
    if name == 'deeplabv3plus':
        from gdpseg.models import DeepLabV3Plus
        return DeepLabV3Plus(num_classes=21, depth=50, output_stride=16).eval(), (1, 3, 513, 513)
    raise ValueError(f'unknown model {name!r}: resnet50 or deeplabv3plus')


def resource_plan(groups, resource, ratio, seed=0):
    """Shrink uniform random α with the proximal step of ``resource`` until the export's FLOPs
    are at most ``ratio`` of the full network's (the last step bisected onto it)."""
    gates = GateSet(groups, eps=1e-8, resource=resource)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for a in gates.alphas:
            a.copy_(torch.rand(a.shape, generator=gen))
    gates.detach()  # the hooks are not needed: no forward pass
    full = groups.full_flops()
    # a λ that shrinks the median group's α by 0.5 % of their range per step
    sizes = [g.size for g in groups.groups]
    coef = gates.resource.grad(sizes) / gates.resource.value(sizes)
    lam = 0.005 / float(torch.stack([coef[i] for i, g in enumerate(groups.groups)
                                     if g.prunable]).median())
    while plan_flops(groups, gates.plan()) / full > ratio:
        before = [a.detach().clone() for a in gates.alphas]
        gates.prox_step(1.0, lam)
        if plan_flops(groups, gates.plan()) / full < ratio - 0.002:
            lo, hi = 0.0, lam  # too far: the largest λ that stays above the ratio
            for _ in range(30):
                mid = 0.5 * (lo + hi)
                with torch.no_grad():
                    for a, b in zip(gates.alphas, before):
                        a.copy_(b)
                gates.prox_step(1.0, mid)
                if plan_flops(groups, gates.plan()) / full >= ratio:
                    lo = mid
                else:
                    hi = mid
            with torch.no_grad():
                for a, b in zip(gates.alphas, before):
                    a.copy_(b)
            gates.prox_step(1.0, hi)
            break
    return gates.plan()


def rounded(groups, plan):
    """The channels ``plan`` keeps, rounded up to ``groups.channel_multiple`` with zero-scaled
    fillers (as GDP's plan rounds)."""
    masks = []
    for g, keep in zip(groups.groups, plan.keep):
        mask = torch.zeros(g.size)
        mask[keep] = 1
        masks.append(mask)
    keep = keep_by_score(groups, [m != 0 for m in masks], masks)
    return resolve(groups, PruningPlan(keep, [m if g.prunable else None
                                              for m, g in zip(masks, groups.groups)]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=['resnet50', 'deeplabv3plus'])
    parser.add_argument('--ratios', type=float, nargs='+', default=[0.6, 0.37, 0.2])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--seconds', type=float, default=2.0,
                        help='time each network for at least this long (over all rounds)')
    parser.add_argument('--rounds', type=int, default=4,
                        help='turns in which an export and the full network are timed')
    parser.add_argument('--tables', default='work_dirs/latency')
    args = parser.parse_args(argv)
    os.makedirs(args.tables, exist_ok=True)
    print(f'batch 1, {args.threads} threads; latency ratios against the unpruned network')
    print('| model | resource | channel multiple | FLOPs ratio | PyTorch ms | ratio | '
          'predicted ratio | predicted ms | ORT ms | ratio | ORT ratio / FLOPs ratio |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    for name in args.models:
        torch.manual_seed(0)
        net, shape = build(name)
        x = torch.randn(shape)
        groups = trace_groups(net, (x,))
        table_path = osp.join(args.tables, f'{name}_{shape[-1]}_torch_{args.threads}t.json')
        if osp.isfile(table_path):
            table = load_table(table_path)
        else:
            print(f'measuring the latency model of {name} (cached in {table_path})',
                  file=sys.stderr)
            table = measure_latency_table(net, groups, x, Timer('torch', args.threads))
            with open(table_path, 'w') as f:
                json.dump(table, f)
        model = latency_resource(groups, table)
        timers = [Timer(backend, args.threads, min_seconds=args.seconds)
                  for backend in ('torch', 'onnxruntime')]
        full_runs = [t.prepare(net, x) for t in timers]
        full_pred = model.plan_value(groups, full_plan(groups))
        full_ms = [t.compare([run], args.rounds)[0] for t, run in zip(timers, full_runs)]
        print(f'| {name} {shape[-1]}² | — | — | 1.000 | {full_ms[0]:.1f} | 1.000 | 1.000 | '
              f'{full_pred:.1f} | {full_ms[1]:.1f} | 1.000 | 1.00 |', flush=True)
        full_flops = groups.full_flops()
        for ratio in args.ratios:
            for resource in ('flops', dict(type='latency', table=table)):
                rname = resource if isinstance(resource, str) else 'latency'
                plan = resource_plan(groups, resource, ratio)
                for multiple in (1, 8):
                    groups.channel_multiple = multiple
                    try:
                        final = rounded(groups, plan)
                        pruned = prune(net, groups, final).eval()
                        flops = plan_flops(groups, final) / full_flops
                        predicted = model.plan_value(groups, final)
                    finally:
                        groups.channel_multiple = 1
                    ms, ratios = [], []
                    for timer, full_run in zip(timers, full_runs):
                        f_ms, p_ms = timer.compare([full_run, timer.prepare(pruned, x)],
                                                   args.rounds)
                        ms.append(p_ms)
                        ratios.append(p_ms / f_ms)
                    print(f'| {name} {shape[-1]}² | {rname} | {multiple} | {flops:.3f} | '
                          f'{ms[0]:.1f} | {ratios[0]:.3f} | {predicted / full_pred:.3f} | '
                          f'{predicted:.1f} | {ms[1]:.1f} | {ratios[1]:.3f} | '
                          f'{ratios[1] / flops:.2f} |', flush=True)


if __name__ == '__main__':
    main()
