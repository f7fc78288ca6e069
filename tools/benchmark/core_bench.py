"""Benchmark of the GDP core on CPU: gating overhead, attach/export time, pruned latency.

    python tools/benchmark/core_bench.py [--quick] [--out work_dirs/benchmark/core.json]

Targets (2 CPU cores): train-step ratio gated/plain <= 1.03; attach <= 5 s and export <= 3 s for
DeepLabV3+ R50 at 512x512; exported latency ratio <= 1.15 x FLOPs ratio (batch 1), measured with
exact channel counts and with counts rounded up to multiples of 16 (``channel_multiple=16``).
"""
import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision

from gdpseg.core import prune
from gdpseg.methods.gdp import attach_gates
from gdpseg.models import DeepLabV3Plus


def _median_time(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def train_step_ratio(make_model, x, target_fn, repeats):
    """Median SGD step time of the gated model over the plain one (same weights).

    The two models step alternately, so drifts of the machine affect both alike.
    """
    steps = {}
    for gated in (False, True):
        torch.manual_seed(0)
        model = make_model().train()
        params = list(model.parameters())
        gates = None
        if gated:
            gates = attach_gates(model, (x[:1],))
            params += [p for p in gates.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9)

        def step(model=model, opt=opt, gates=gates):
            opt.zero_grad(set_to_none=True)
            target_fn(model(x)).backward()
            opt.step()
            if gates is not None:
                gates.prox_step(1e-3, 1.0)
        steps['gated' if gated else 'plain'] = step
    times = {'plain': [], 'gated': []}
    for name in ('plain', 'gated'):  # warm-up
        steps[name]()
    for _ in range(repeats):
        for name in ('plain', 'gated'):
            t = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - t)
    result = {name: statistics.median(ts) for name, ts in times.items()}
    result['ratio'] = result['gated'] / result['plain']
    return result


def zero_fraction(gates, frac, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for grp, alpha in zip(gates.groups, gates.alphas):
            if grp.prunable:
                alpha.copy_(torch.rand(grp.size, generator=g) + 0.1)
                alpha[torch.randperm(grp.size, generator=g)[:int(frac * grp.size)]] = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='small inputs, few repeats')
    parser.add_argument('--out', default='work_dirs/benchmark/core.json')
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    side = 256 if args.quick else 512
    reps = 2 if args.quick else 8
    report = {'threads': torch.get_num_threads(), 'torch': torch.__version__, 'side': side}

    x = torch.randn(8, 3, 224, 224)
    y = torch.randint(0, 1000, (8,))
    report['resnet50_train_step_224_b8'] = train_step_ratio(
        lambda: torchvision.models.resnet50(), x, lambda out: F.cross_entropy(out, y), reps)
    print('ResNet-50 224² b8 step', report['resnet50_train_step_224_b8'], flush=True)

    xs = torch.randn(2, 3, side, side)
    ys = torch.randint(0, 21, (2, side, side))
    report[f'deeplabv3plus_r50_train_step_{side}_b2'] = train_step_ratio(
        lambda: DeepLabV3Plus(num_classes=21), xs, lambda out: F.cross_entropy(out, ys), reps)
    print('DeepLabV3+ step', report[f'deeplabv3plus_r50_train_step_{side}_b2'], flush=True)

    model = DeepLabV3Plus(num_classes=21).eval()
    x1 = torch.randn(1, 3, side, side)
    t = time.perf_counter()
    gates = attach_gates(model, (x1,))
    report['attach_s'] = time.perf_counter() - t
    zero_fraction(gates, 0.5)
    t = time.perf_counter()
    pruned = prune(model, gates)
    report['export_s'] = time.perf_counter() - t
    print(f"attach {report['attach_s']:.2f} s, export {report['export_s']:.2f} s", flush=True)

    gates.detach()
    with torch.no_grad():
        base = _median_time(lambda: model(x1), reps)
        rows = []
        for frac in (0.2, 0.4, 0.6, 0.8):
            for multiple in (1, 16):  # 16: kept channels rounded up with silent fillers
                zero_fraction(gates, frac)
                gates.channel_multiple = multiple
                pruned = prune(model, gates).eval()
                lat = _median_time(lambda: pruned(x1), reps)
                row = {'zeroed': frac, 'channel_multiple': multiple,
                       'flops_ratio': gates.flops_ratio(), 'latency_ratio': lat / base,
                       'latency_s': lat}
                row['latency_over_flops'] = row['latency_ratio'] / row['flops_ratio']
                rows.append(row)
                print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()},
                      flush=True)
        gates.channel_multiple = 1
    report['original_latency_s'] = base
    report['latency'] = rows
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
