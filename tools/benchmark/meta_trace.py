"""The trace on meta tensors against the trace on values, on the model sweep's families: the same
groups, FLOPs and dead compute, and the time of each (``trace_groups(verify=False)``).

    python tools/benchmark/meta_trace.py                       # every family of model_sweep.py
    python tools/benchmark/meta_trace.py --only timm:hrnet_w18_small smp:FPN:resnet18

A model that cannot run on meta tensors shows the meta pass's error (``trace_groups`` traces it
on values then); 'same' compares everything a plan, the export and the FLOPs model read.
"""
import argparse
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from model_sweep import FAMILIES, build  # noqa: E402

from gdpseg.core import trace_groups  # noqa: E402


def compare_one(spec):
    model, shape, fn = build(spec)
    model.eval()
    x = torch.randn(*shape)
    times = {}
    for meta in (True, False):
        start = time.perf_counter()
        groups = trace_groups(model, (x,), fn, verify=False, meta_trace=meta)
        times[meta] = time.perf_counter() - start, groups
    (t_meta, on_meta), (t_values, on_values) = times[True], times[False]
    return dict(elements=x.numel(), meta=t_meta, values=t_values, traced_on=on_meta.traced_on,
                error=on_meta.meta_error, same=on_meta.signature() == on_values.signature())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', nargs='*', help='family entries to run (default: all)')
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter('ignore')
    specs = args.only or FAMILIES
    lines = ['| model | input elements | meta pass (s) | pass on values (s) | groups |',
             '|---|---|---|---|---|']
    counts = dict(same=0, fallback=0, different=0, error=0)
    for k, spec in enumerate(specs, 1):
        print(f'[{k}/{len(specs)}] {spec} ...', end=' ', flush=True)
        try:
            r = compare_one(spec)
        except Exception as e:  # noqa: BLE001  (a row per failure: a report, not a test)
            counts['error'] += 1
            print(f'FAILED: {type(e).__name__}: {str(e).splitlines()[0][:160]}')
            continue
        if r['traced_on'] != 'meta':
            counts['fallback'] += 1
            verdict = f"on values: {r['error'].splitlines()[0][:90]}"
        else:
            counts['same' if r['same'] else 'different'] += 1
            verdict = 'same' if r['same'] else 'DIFFERENT'
        print(verdict)
        lines.append(f"| {spec} | {r['elements']:,} | {r['meta']:.2f} | {r['values']:.2f} | "
                     f"{verdict} |")
    lines.append(f"\n{counts['same']} same, {counts['different']} different, "
                 f"{counts['fallback']} traced on values (the meta pass failed), "
                 f"{counts['error']} not built, of {len(specs)} ({torch.get_num_threads()} "
                 'threads).')
    print('\n'.join(lines))
    return counts


if __name__ == '__main__':
    main()
