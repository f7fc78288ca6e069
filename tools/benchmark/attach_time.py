"""Where the time of ``attach_gates`` goes: the trace (on meta tensors from 2**18 input
elements on, else one forward pass; it also finds dead compute) with building the groups, on
either kind of tensor, and the export check (the masked model and the export of a random plan
on a crop: two more passes), against Torch-Pruning's dependency graph on the same model in the
same process when ``torch_pruning`` is installed (it is not a dependency).

    python tools/benchmark/attach_time.py            # smp DeepLabV3+ R50 at 512², HRNet-W18 at 224²
    python tools/benchmark/attach_time.py --repeats 3 --threads 2

The ratio line divides attach_gates by Torch-Pruning's time within each repeat (the two run
seconds apart), so it holds on a machine whose load changes between repeats.
"""
import argparse
import statistics
import time
import warnings

import torch


def _models():
    import segmentation_models_pytorch as smp
    import timm
    yield ('smp DeepLabV3+ R50, 512²',
           lambda: smp.DeepLabV3Plus(encoder_name='resnet50', encoder_weights=None, classes=21),
           (1, 3, 512, 512))
    yield 'timm hrnet_w18, 224²', lambda: timm.create_model('hrnet_w18'), (1, 3, 224, 224)


def _time(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def measure(make, shape):
    from gdpseg.core import trace_groups
    from gdpseg.core.verify import verify_groups
    from gdpseg.methods.gdp import attach_gates

    x = torch.randn(*shape)
    row = {}
    model = make().eval()
    row['attach_gates'], gates = _time(lambda: attach_gates(model, (x,)))
    row['traced on'] = gates.channel_groups.traced_on
    for meta in (True, False):  # the trace with dead-compute search and the groups, no check
        model = make().eval()
        key = 'trace + groups, on ' + ('meta tensors' if meta else 'values (1 pass)')
        row[key], groups = _time(lambda: trace_groups(model, (x,), verify=False,
                                                      meta_trace=meta))
    row['export check (2 passes on a crop)'], _ = _time(lambda: verify_groups(groups, (x,)))
    row['forward pass'], _ = _time(lambda: model(x))
    try:
        import torch_pruning as tp
    except ImportError:
        return row
    try:  # not every release sets __version__
        from importlib.metadata import version
        tp_version = version('torch-pruning')
    except Exception:  # noqa: BLE001  (installed from a checkout without metadata)
        tp_version = getattr(tp, '__version__', '?')
    model = make().eval()
    row[f'Torch-Pruning {tp_version} DependencyGraph'], _ = _time(
        lambda: tp.DependencyGraph().build_dependency(model, example_inputs=x))
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=2, help='median of this many runs')
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter('ignore')
    for name, make, shape in _models():
        runs = [measure(make, shape) for _ in range(args.repeats)]
        print(f'{name} ({torch.get_num_threads()} threads, median of {args.repeats}):')
        for key in runs[0]:
            if isinstance(runs[0][key], str):
                print(f'  {key:<42} {", ".join(sorted({r[key] for r in runs}))}')
                continue
            print(f'  {key:<42} {statistics.median(r[key] for r in runs):6.2f} s')
        tp_key = next((k for k in runs[0] if k.startswith('Torch-Pruning')), None)
        if tp_key:  # paired within each repeat: robust to a machine whose load changes
            ratio = statistics.median(r['attach_gates'] / r[tp_key] for r in runs)
            print(f'  {"attach_gates / Torch-Pruning (paired)":<42} {ratio:6.2f} ×')


if __name__ == '__main__':
    main()
