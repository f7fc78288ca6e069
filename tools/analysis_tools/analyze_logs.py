"""Curves and a summary from the logs of training runs (MMEngine's ``vis_data/scalars.json``).

    python tools/analysis_tools/analyze_logs.py plot_curve WORK_DIR [WORK_DIR ...]
        [--keys loss gdp_flops_ratio ...] [--out curves.png]
    python tools/analysis_tools/analyze_logs.py summary WORK_DIR [WORK_DIR ...]

A work dir (its newest run), a run dir (``WORK_DIR/<timestamp>``) or a ``scalars.json`` file may
be given. Without ``--keys``, ``plot_curve`` draws the loss and, for GDP runs, the FLOPs ratio,
the live channels, ε and λ, plus every validation metric; one panel per key, one line per run.
"""
import argparse
import glob
import json
import os.path as osp
import sys

GDP_KEYS = ('loss', 'gdp_flops_ratio', 'gdp_live_channels', 'gdp_eps', 'gdp_lam')


def find_scalars(path: str) -> str:
    """The ``scalars.json`` of a work dir (newest run), a run dir, or the file itself."""
    if osp.isfile(path):
        return path
    found = sorted(glob.glob(osp.join(path, 'vis_data', 'scalars.json')) +
                   glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not found:
        raise FileNotFoundError(f'no vis_data/scalars.json under {path}: give a work dir of '
                                'tools/train.py (with LocalVisBackend in the visualizer)')
    return found[-1]  # run dirs are timestamps: the newest sorts last


def load_log(path: str):
    """``(train, val)``: lists of dicts, each with its ``step``."""
    train, val = [], []
    with open(find_scalars(path)) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            record = json.loads(line)
            (train if 'lr' in record or 'loss' in record else val).append(record)
    return train, val


def default_keys(runs):
    keys = [k for k in GDP_KEYS if any(k in r for train, _ in runs for r in train)]
    metrics = sorted({k for _, val in runs for r in val for k in r
                      if k not in ('step', 'time', 'data_time', 'unscored_pixels')})
    return keys + metrics


def plot_curve(paths, keys=None, out='curves.png'):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    runs = [load_log(p) for p in paths]
    keys = list(keys or default_keys(runs))
    if not keys:
        raise ValueError('no known keys in these logs; name some with --keys')
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.2 * len(keys)), squeeze=False,
                             sharex=True)
    for ax, key in zip(axes[:, 0], keys):
        for path, (train, val) in zip(paths, runs):
            points = [(r['step'], r[key]) for r in train + val if key in r]
            if points:
                steps, values = zip(*sorted(points))
                ax.plot(steps, values, marker='.' if len(points) < 20 else None, label=path)
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel('iteration')
    if len(paths) > 1:
        axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return out


def summary(paths):
    lines = []
    for path in paths:
        train, val = load_log(path)
        last = train[-1] if train else {}
        times = [r['time'] for r in train if 'time' in r]
        line = [f'{path}: {last.get("step", 0)} iterations']
        if times:
            line.append(f'{sum(times) / len(times):.3f} s/iter')
        for key in ('loss', 'gdp_flops_ratio', 'gdp_live_channels', 'gdp_eps'):
            if key in last:
                line.append(f'{key} {last[key]:.4g}')
        for record in val[-1:]:
            line += [f'{k} {v:.4g}' for k, v in record.items()
                     if k not in ('step', 'time', 'data_time')]
        lines.append(', '.join(line))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Analyse training logs')
    sub = parser.add_subparsers(dest='command', required=True)
    plot = sub.add_parser('plot_curve', help='curves of logged values against the iteration')
    plot.add_argument('logs', nargs='+')
    plot.add_argument('--keys', nargs='+')
    plot.add_argument('--out', default='curves.png')
    summ = sub.add_parser('summary', help='the last logged values of each run')
    summ.add_argument('logs', nargs='+')
    args = parser.parse_args(argv)
    if args.command == 'plot_curve':
        print(f'wrote {plot_curve(args.logs, args.keys, args.out)}')
    else:
        print(summary(args.logs))


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'error: {exc}')
