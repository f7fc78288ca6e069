"""Measure a latency model of a config's network on this machine, and check its predictions.

    python tools/analysis_tools/measure_latency.py CONFIG --out latency.json
        [--backend torch|onnxruntime] [--threads 2] [--shape [C] H W] [--check 5]

Times every distinct conv/linear layer of the network on a grid of channel counts, fits the
bilinear model of ``gdpseg.deploy.latency`` (paper Eq. 5 form), calibrates it on whole exports
(full, half width, four random widths), and writes the table. ``--check N`` then exports N
randomly pruned networks and prints predicted against measured latency. Use the table with

    model = dict(type='GDPAlgorithm', ..., resource=dict(type='latency', table='latency.json'))

and a budget in milliseconds: ``lam=dict(type='TargetLambda', value=MS)``. The table belongs to
the model, its input size, the backend and the machine it was measured on.
"""
import argparse
import json
import sys

import torch
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

from gdpseg.apis.get_flops import input_shape
from gdpseg.core import full_plan, prune, resolve
from gdpseg.deploy.latency import Timer, latency_resource, measure_latency_table, random_plan
from gdpseg.engine.config_network import build_network
from gdpseg.utils import load_config, register_all_modules


def check(net, groups, example, forward_fn, table, timer, n, seed=1):
    """Predicted and measured latency of the full network and ``n`` random exports (other
    random widths than the calibration's, which used seed 0)."""
    resource = latency_resource(groups, table)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    plans = [full_plan(groups)] + \
        [random_plan(groups, gen) for _ in range(n)]
    for i, plan in enumerate(plans):
        plan = resolve(groups, plan)
        pruned = prune(net, groups, plan)
        measured = timer(pruned, example, forward_fn)
        predicted = resource.plan_value(groups, plan)
        rows.append(dict(network='full' if i == 0 else f'random {i}', predicted_ms=predicted,
                         measured_ms=measured, error=(predicted - measured) / measured))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description='Measure a latency model of a network')
    parser.add_argument('config')
    parser.add_argument('--out', required=True, help='JSON file to write the table to')
    parser.add_argument('--backend', choices=('torch', 'onnxruntime'), default='torch')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--shape', type=int, nargs='+', metavar='N',
                        help='input size: H W, or C H W (default: from the config, as '
                        'tools/get_flops.py takes it)')
    parser.add_argument('--check', type=int, default=5, metavar='N',
                        help='compare predicted and measured latency on N random exports')
    parser.add_argument('--min-seconds', type=float, default=0.05,
                        help='time each measurement for at least this long')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    shape, source = input_shape(cfg, args.shape)  # the rule of tools/get_flops.py
    try:
        net, groups, example, forward_fn = build_network(cfg, shape)
    except RuntimeError as exc:  # e.g. an RGB input for a grayscale stem
        raise ValueError(f'the network does not run on an input of shape {list(shape)} '
                         f'({source}): {str(exc).splitlines()[0]}; pass --shape H W or '
                         '--shape C H W') from exc
    print(f'input {list(shape)} ({source})')
    timer = Timer(args.backend, args.threads, min_seconds=args.min_seconds)
    bar = None

    def progress(done, total):
        nonlocal bar
        if bar is None:
            print(f'timing {total} distinct layers on a grid of channel counts '
                  f'({args.backend}, {args.threads} threads)')
            bar = ProgressBar(total)
        bar.update()

    table = measure_latency_table(net, groups, example, timer, forward_fn, progress=progress)
    print()
    rows = check(net, groups, example, forward_fn, table, timer, args.check) \
        if args.check else []
    table['check'] = rows
    with open(args.out, 'w') as f:
        json.dump(table, f, indent=1)
    worst_fit = max(v['max_fit_error'] for v in table['layers'].values())
    print(f'input {list(shape)}; {len(table["layers"])} layer fits (worst point off by '
          f'{100 * worst_fit:.1f} %); full network {table["networks"]["full_ms"]:.2f} ms, '
          f'half width {table["networks"]["half_ms"]:.2f} ms')
    if rows:
        print('| network | predicted ms | measured ms | error |\n| --- | --- | --- | --- |')
        for r in rows:
            print(f'| {r["network"]} | {r["predicted_ms"]:.2f} | {r["measured_ms"]:.2f} | '
                  f'{100 * r["error"]:+.1f} % |')
    print(f'wrote {args.out}')
    return table


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError, KeyError) as exc:
        sys.exit(f'error: {exc}')
