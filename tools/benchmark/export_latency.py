"""Measured latency of exports against each other, and against a latency model's prediction.

    python tools/benchmark/export_latency.py EXPORT_DIR [EXPORT_DIR ...] [--full CONFIG]
        [--backend onnxruntime] [--threads 2] [--rounds 5] [--table latency.json]

Every network (the exports of tools/prune.py or tools/search.py, and with ``--full`` the
unpruned network of a config) is timed at batch 1 on its export's input, in turns: each round
times every network once (the shortest of several runs, ``gdpseg.deploy.latency.time_call``), so
a machine whose speed drifts disturbs all of them alike. The table gives each network's median
and range over the rounds, its conv+linear FLOPs and, with ``--table`` (a latency model of
tools/analysis_tools/measure_latency.py for the same network), the predicted milliseconds.
Time on an idle machine: another job on the cores moves every number.
"""
import argparse
import json
import os.path as osp
import statistics
import sys

import torch

from gdpseg.core import PruningPlan, full_plan
from gdpseg.deploy import Timer
from gdpseg.engine.config_network import build_network
from gdpseg.engine.export_dir import (export_input_shape, load_export, plan_path,
                                      read_plan_file)
from gdpseg.evaluation import TensorMode, count_conv_linear_flops
from gdpseg.utils import load_config, register_all_modules


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('exports', nargs='+', help='export directories (or their plan.json)')
    parser.add_argument('--full', metavar='CONFIG',
                        help='also time the unpruned network of this config (the baseline)')
    parser.add_argument('--backend', choices=('torch', 'onnxruntime'), default='onnxruntime')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=5, help='turns over all networks')
    parser.add_argument('--table', help='a latency model (measure_latency.py) to predict with')
    parser.add_argument('--out', help='write the rows as JSON here')
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f'--rounds must be at least 1, got {args.rounds}')
    register_all_modules(init_default_scope=False)
    shapes = {tuple(export_input_shape(e) or ()) for e in args.exports}
    if len(shapes) != 1 or not next(iter(shapes)):
        raise ValueError(f'the exports were traced at different (or unrecorded) inputs '
                         f'{sorted(shapes)}: time exports of one network at one input size')
    shape = next(iter(shapes))
    x = torch.zeros(shape)
    nets = {osp.normpath(e): TensorMode(load_export(e)) for e in args.exports}
    full = groups = None
    if args.full or args.table:
        if not args.full:
            parser.error('--table needs --full CONFIG (the network the table was measured on)')
        full, groups = build_network(load_config(args.full), shape)[:2]
        nets = {'full network': TensorMode(full), **nets}
    timer = Timer(args.backend, args.threads, min_seconds=0.2)
    runs = {name: timer.prepare(net, x) for name, net in nets.items()}
    from gdpseg.deploy.latency import time_call
    times = {name: [] for name in nets}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            times[name].append(time_call(fn, min_seconds=0.2))
    predict = None
    if args.table:
        from gdpseg.deploy.latency import latency_resource
        with open(args.table) as f:
            resource = latency_resource(groups, json.load(f))

        def predict(name):
            if name == 'full network':
                plan = full_plan(groups)
            else:
                data = read_plan_file(plan_path(name))
                plan = PruningPlan.from_dict(data, groups)  # checked against the network
            return resource.plan_value(groups, plan)
    base = count_conv_linear_flops(TensorMode(full), (x,)) if full is not None else None
    rows = []
    for name, net in nets.items():
        flops = count_conv_linear_flops(net, (x,))
        row = dict(network=name, flops=flops, median_ms=statistics.median(times[name]),
                   min_ms=min(times[name]), max_ms=max(times[name]))
        if base:
            row['flops_ratio'] = flops / base
        if predict is not None:
            row['predicted_ms'] = predict(name)
        rows.append(row)
    ref = rows[0]['median_ms'] if full is not None else None
    print(f'input {list(shape)}, {args.backend}, {args.threads} threads, batch 1, '
          f'{args.rounds} rounds in turns')
    print('| network | FLOPs (M) | measured ms, median (range) | of the full network |'
          + (' predicted ms |' if predict else '') + '\n| --- | --- | --- | --- |'
          + (' --- |' if predict else ''))
    for r in rows:
        share = f"{100 * r['median_ms'] / ref:.0f} %" if ref else '–'
        print(f"| {r['network']} | {r['flops'] / 1e6:.2f}"
              + (f" ({100 * r['flops_ratio']:.1f} %)" if 'flops_ratio' in r else '')
              + f" | {r['median_ms']:.3f} ({r['min_ms']:.3f}–{r['max_ms']:.3f}) | {share} |"
              + (f" {r['predicted_ms']:.3f} |" if predict else ''))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'error: {exc}')
