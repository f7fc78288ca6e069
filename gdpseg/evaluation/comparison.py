"""Tables and statistics of a method comparison (``tools/compare.py``): one row per run in, mean
± std over seeds per method and FLOPs ratio out, with the winner at each ratio."""
import csv
import json
import math
import os.path as osp
from collections import defaultdict
from glob import glob
from typing import Dict, List, Optional

# what a run's result.json may hold besides its identity, in table order
FIELDS = ('flops_ratio', 'flops', 'params', 'final', 'pruned', 'gated', 'zero_share',
          'high_share', 'dead_groups', 'train_iters', 'train_cost', 'train_savings', 'seconds')


# a run whose export is this far below the requested FLOPs ratio is flagged (a method whose
# plan cannot use its whole budget compares at fewer FLOPs)
OFF_TARGET = 0.05


def load_results(work_dir: str) -> List[dict]:
    """Every ``result.json`` under ``work_dir`` (runs and baselines), sorted."""
    rows = []
    for path in glob(osp.join(work_dir, '**', 'result.json'), recursive=True):
        with open(path) as f:
            rows.append(json.load(f))
    return sorted(rows, key=lambda r: (r['order'], -r['ratio'], r['seed']))


def write_csv(rows: List[dict], path: str) -> None:
    keys = ['method', 'label', 'ratio', 'seed', *FIELDS]
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=keys, extrasaction='ignore')
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k) for k in keys})


def mean_std(values: List[float]):
    """Mean and sample standard deviation (0 for one value); ``(None, None)`` for none."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def pearson(xs: List[float], ys: List[float]) -> Optional[float]:
    pairs = [(x, y) for x, y in zip(xs, ys) if x is not None and y is not None]
    if len(pairs) < 3:
        return None
    mx = sum(x for x, _ in pairs) / len(pairs)
    my = sum(y for _, y in pairs) / len(pairs)
    sxy = sum((x - mx) * (y - my) for x, y in pairs)
    sxx = sum((x - mx) ** 2 for x, _ in pairs)
    syy = sum((y - my) ** 2 for _, y in pairs)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else None


def summarize(rows: List[dict]) -> List[dict]:
    """Per method and requested ratio: the runs' count and mean/std of every field."""
    cells: Dict[tuple, List[dict]] = defaultdict(list)
    for row in rows:
        cells[(row['order'], row['method'], row['ratio'])].append(row)
    out = []
    for (order, method, ratio), runs in sorted(cells.items(), key=lambda kv: (kv[0][0],
                                                                              -kv[0][2])):
        cell = dict(method=method, label=runs[0]['label'], ratio=ratio, order=order,
                    seeds=sorted(r['seed'] for r in runs), n=len(runs))
        for key in FIELDS:
            cell[key] = mean_std([r.get(key) for r in runs])
        out.append(cell)
    return out


def _final_by_ratio(summary: List[dict]) -> Dict[float, List[dict]]:
    """The cells with a final metric at each requested ratio (< 1)."""
    by_ratio = defaultdict(list)
    for cell in summary:
        if cell['ratio'] < 1 and cell['final'][0] is not None:
            by_ratio[cell['ratio']].append(cell)
    return by_ratio


def winners(summary: List[dict]) -> Dict[float, dict]:
    """At each requested ratio (< 1), the method with the best mean final metric, and every
    method within one standard deviation of it (not separated by these seeds)."""
    result = {}
    for ratio, cells in _final_by_ratio(summary).items():
        best = max(cells, key=lambda c: c['final'][0])
        mean, std = best['final']
        tied = [c['label'] for c in cells if c is not best and
                c['final'][0] + max(std, c['final'][1]) >= mean]
        result[ratio] = dict(best=best['label'], mean=mean, std=std, tied=tied)
    return result


def separation(summary: List[dict]) -> Dict[float, dict]:
    """At each requested ratio (< 1): do the best and the worst method's final metric differ
    by more than two standard deviations (the larger of the two)? A study whose methods are
    not separated ranks nothing at that ratio.

    Returns:
        ``{ratio: dict(best, worst, gap, std, separated)}``; ``separated`` is None where a
        method has a single seed (no spread to compare with).
    """
    result = {}
    for ratio, cells in _final_by_ratio(summary).items():
        if len(cells) < 2:
            continue
        best = max(cells, key=lambda c: c['final'][0])
        worst = min(cells, key=lambda c: c['final'][0])
        gap = best['final'][0] - worst['final'][0]
        std = max(best['final'][1], worst['final'][1])
        one_seed = min(best['n'], worst['n']) < 2
        result[ratio] = dict(best=best['label'], worst=worst['label'], gap=gap, std=std,
                             separated=None if one_seed else gap > 2 * std)
    return result


def _scalars(run: str):
    """The entries of MMEngine's ``vis_data/scalars.json`` of every stage under ``run``, in
    log order (a log cut off mid-line skips that line)."""
    for path in sorted(glob(osp.join(run, '*', '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


def training_curves(run: str) -> Optional[dict]:
    """The logged curves of a run's gated training (a stage whose log has GDP's
    ``gdp_flops_ratio``): ``{'iter', 'loss', 'flops_ratio', 'target', 'zero_share',
    'high_share'}`` lists from MMEngine's ``vis_data/scalars.json`` under ``run``; a resumed
    training's logs are merged by iteration (the later log wins). None if there is none."""
    keys = dict(loss='loss', flops_ratio='gdp_flops_ratio', target='gdp_target',
                zero_share='gdp_zero_share', high_share='gdp_high_share')
    by_iter = {int(e['iter']): e for e in _scalars(run)
               if 'gdp_flops_ratio' in e and 'iter' in e}
    if not by_iter:
        return None
    its = sorted(by_iter)
    out = dict(iter=its)
    for name, key in keys.items():
        out[name] = [by_iter[i].get(key) for i in its]
    return out


def validation_curve(run: str, metric: str) -> List[List[float]]:
    """``[[iteration, metric], ...]`` of the validations a run's training logged on the
    validation split (MMEngine's ``vis_data/scalars.json`` under ``run``: the entries with
    ``metric`` and a ``step``), in order; the later log wins for a repeated step. The step is
    the iteration where the logger logs metrics by iteration (``log_metric_by_epoch=False``,
    as the study configs do)."""
    by_step = {int(e['step']): float(e[metric]) for e in _scalars(run)
               if metric in e and 'step' in e and 'loss' not in e}
    return [[s, by_step[s]] for s in sorted(by_step)]


def curve_lines(rows: List[dict], metric_label: str) -> List[str]:
    """The baselines' validation curves as a Markdown table (one row per seed), and how much
    the last interval moved each against the spread of the baselines' final metric."""
    base = [r for r in rows if r['method'] == 'baseline' and r.get('val_curve')]
    if not base:
        return []
    steps = sorted({int(s) for r in base for s, _ in r['val_curve']})
    lines = ['', f"**The baselines' training**: {metric_label} on the validation split along "
             'the way (more training alone, and how much it still moves):', '',
             '| seed | ' + ' | '.join(str(s) for s in steps) + ' |',
             '| --- |' + ' --- |' * len(steps)]
    for r in base:
        at = {int(s): v for s, v in r['val_curve']}
        lines.append(f"| {r['seed']} | " + ' | '.join(
            f'{at[s]:.2f}' if s in at else '–' for s in steps) + ' |')
    moves = [r['val_curve'][-1][1] - r['val_curve'][-2][1] for r in base
             if len(r['val_curve']) >= 2]
    _, spread = mean_std([r.get('final') for r in base])
    if moves:
        lines += ['', 'Last interval: ' + ', '.join(f'{m:+.2f}' for m in moves) +
                  (f"; the baselines' final metric varies by {spread:.2f} (std over "
                   f'{len(base)} seeds)' if len(base) > 1 else '; one seed: no spread yet')]
    return lines


def _fmt(value, digits=2, scale=1.0):
    mean, std = value
    if mean is None:
        return '–'
    return f'{scale * mean:.{digits}f} ± {scale * std:.{digits}f}'


def markdown(summary: List[dict], rows: List[dict], metric_label: str, title: str = '',
             failed: List[str] = ()) -> str:
    """The comparison as Markdown: the table, the winners per ratio, GDP's own checks."""
    lines = [f'## {title}', ''] if title else []
    lines += [f'| method | requested FLOPs | FLOPs of the export (%) | {metric_label} after '
              'fine-tuning | export before fine-tuning | gated network | gates exactly 0 / '
              '≥ 0.9 (%) | dead groups | training iterations | training cost (full-network '
              'iterations; savings) | seeds |',
              '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for c in summary:
        polar = ('–' if c['zero_share'][0] is None else
                 f"{100 * c['zero_share'][0]:.1f} / {100 * c['high_share'][0]:.1f}")
        dead = '–' if c['dead_groups'][0] is None else f"{c['dead_groups'][0]:.1f}"
        iters = '–' if c['train_iters'][0] is None else f"{c['train_iters'][0]:.0f}"
        cost = '–' if c['train_cost'][0] is None else (
            f"{c['train_cost'][0]:,.0f} ({c['train_savings'][0]:.2f}×)")
        requested = 'baseline' if c['ratio'] >= 1 else f"{100 * c['ratio']:.0f} %"
        lines.append(f"| {c['label']} | {requested} | {_fmt(c['flops_ratio'], 1, 100)} | "
                     f"{_fmt(c['final'])} | {_fmt(c['pruned'])} | {_fmt(c['gated'])} | "
                     f"{polar} | {dead} | {iters} | {cost} | {c['n']} |")
    lines += ['', '**Best mean after fine-tuning at each ratio** (methods within one standard '
              'deviation of it are not separated by these seeds):', '']
    for ratio, w in sorted(winners(summary).items(), reverse=True):
        tied = f"; not separated from: {', '.join(w['tied'])}" if w['tied'] else ''
        lines.append(f"- {100 * ratio:.0f} %: **{w['best']}** ({w['mean']:.2f} ± "
                     f"{w['std']:.2f}){tied}")
    apart = separation(summary)
    if apart:
        lines += ['', '**Does the study separate methods?** (best and worst more than two '
                  'standard deviations apart)', '']
    for ratio, a in sorted(apart.items(), reverse=True):
        verdict = {None: 'cannot tell: one seed', True: 'yes', False: 'no'}[a['separated']]
        lines.append(f"- {100 * ratio:.0f} %: {verdict} ({a['best']} − {a['worst']} = "
                     f"{a['gap']:.2f}, std {a['std']:.2f})")
    gated = [r for r in rows if r.get('gated') is not None]
    if gated:
        diffs = [abs(r['gated'] - r['pruned']) for r in gated if r.get('pruned') is not None]
        lines += ['', f'Gated network vs its export before fine-tuning, {len(diffs)} runs: '
                  f'largest difference {max(diffs) if diffs else float("nan"):.4f}.']
        for method in sorted({r['method'] for r in gated}):
            runs = [r for r in gated if r['method'] == method]
            r = pearson([x['gated'] for x in runs], [x.get('final') for x in runs])
            label = runs[0]['label']
            lines.append(f'- {label}: correlation of the gated and the fine-tuned metric over '
                         f'{len(runs)} runs (all ratios and seeds): '
                         + ('n/a (fewer than 3 runs or no spread)' if r is None else f'{r:.2f}'))
    off = [r for r in rows if r['ratio'] < 1 and r.get('flops_ratio') is not None and
           not r['ratio'] - OFF_TARGET <= r['flops_ratio'] <= r['ratio'] + 0.01]
    if off:
        lines += ['', f'{len(off)} runs ended more than {100 * OFF_TARGET:.0f} points below or '
                  '1 point above the requested FLOPs (compare them with care): ' + ', '.join(
                      f"{r['method']} r={r['ratio']:g} s={r['seed']}: "
                      f"{100 * r['flops_ratio']:.1f} %" for r in off)]
    lines += curve_lines(rows, metric_label)
    if failed:
        lines += ['', f'{len(failed)} runs failed and are not in the table: '
                  + ', '.join(failed)]
    return '\n'.join(lines) + '\n'
