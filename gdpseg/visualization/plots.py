"""Matplotlib figures written to files; each function also returns the picture as an array."""
import textwrap

import numpy as np


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def set_title(ax, text, fontsize=None):
    """``ax.set_title`` with the text wrapped to the axes' width (a study's long title would
    run off the picture)."""
    from matplotlib.font_manager import FontProperties

    size = FontProperties(size=fontsize or _pyplot().rcParams['axes.titlesize'])
    width = ax.figure.get_figwidth() * ax.get_position().width * 72  # points
    # an average glyph of a proportional font is about 0.55 of its size wide
    ax.set_title(textwrap.fill(text, max(20, int(width / (0.55 * size.get_size_in_points())))),
                 fontsize=fontsize)


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    _pyplot().close(fig)
    return image


def plot_gate_histograms(history, bins, path, curves=6):
    """Histograms of the gate values at several moments of training, stacked top (first) to
    bottom (last) as in the paper's Fig. 9; gates exactly 0 get their own bar left of the axis.

    Args:
        history: ``{'iter': [...], 'eps': [...], 'hist': [[counts per bin], ...]}`` and,
            where recorded, ``'zero_share'`` (share of gates exactly 0) per moment.
        bins: Bin edges over [0, 1].
        path: PNG file to write.
        curves: How many moments to draw, spread over the history.

    Returns:
        np.ndarray: The RGB picture.
    """
    plt = _pyplot()
    n = len(history['iter'])
    picks = sorted({round(i * (n - 1) / max(1, curves - 1)) for i in range(curves)})
    fig, axes = plt.subplots(len(picks), 1, figsize=(6, 1.0 + 0.9 * len(picks)), sharex=True,
                             squeeze=False)
    edges = np.asarray(bins, dtype=float)
    width = float(edges[1] - edges[0])
    zero_x = edges[0] - 2 * width
    for ax, i in zip(axes[:, 0], picks):
        counts = np.asarray(history['hist'][i], dtype=float)
        total = counts.sum() or 1.0
        shares = history.get('zero_share') or []
        zeros = round(shares[i] * total) if i < len(shares) else 0.0
        counts[0] -= zeros  # exact zeros sit in the first bin: drawn apart
        ax.bar(edges[:-1], 100 * counts / total, width=width, align='edge', color='#4c72b0')
        ax.bar([zero_x], [100 * zeros / total], width=1.5 * width, color='#c44e52')
        ax.set_ylim(0, 105)
        ax.set_yticks([0, 50, 100])
        ax.tick_params(labelsize=7)
        ax.text(0.5, 0.9, f"iter {history['iter'][i]}  (ε={history['eps'][i]:.2g}; "
                f'{100 * zeros / total:.0f} % exactly 0)', transform=ax.transAxes,
                ha='center', va='top', fontsize=7)
        ax.grid(axis='y', alpha=0.3)
    bottom = axes[-1, 0]
    bottom.set_xticks([zero_x, 0, 0.25, 0.5, 0.75, 1.0])
    bottom.set_xticklabels(['=0', '0', '0.25', '0.5', '0.75', '1'])
    bottom.set_xlabel('gate value g(α)  (red: gates exactly 0)')
    fig.text(0.01, 0.5, 'gates (%)', rotation=90, va='center', fontsize=8)
    axes[0, 0].set_title('Gate polarisation during GDP training (top: start, bottom: end)',
                         fontsize=9)
    return _save(fig, path)


def plot_flops_curve(history, path):
    """Remaining FLOPs (% of the full network) against the iteration."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(history['iter'], [100 * r for r in history['flops_ratio']], label='FLOPs')
    resource = history.get('resource', 'FlopsResource')
    name = resource[:-len('Resource')] if resource.endswith('Resource') else resource
    if resource != 'FlopsResource' and history.get('resource_ratio'):
        ax.plot(history['iter'], [100 * r for r in history['resource_ratio']], label=name)
    targets = [(i, t) for i, t in zip(history['iter'], history.get('target', [])) if t is not None]
    if targets:
        ax.plot([i for i, _ in targets], [100 * t for _, t in targets], '--',
                label=f'target ({name})')
        ax.annotate(f'reached {100 * history["resource_ratio"][-1]:.1f} % '
                    f'(target {100 * targets[-1][1]:.1f} %)',
                    xy=(history['iter'][-1], 100 * history['resource_ratio'][-1]),
                    xytext=(-5, 12), textcoords='offset points', ha='right', fontsize=8)
    if len(ax.lines) > 1:
        ax.legend(fontsize=8)
    ax.set_xlabel('iteration')
    ax.set_ylabel('ratio of the full network (%)')
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    ax.set_title('Remaining resource during GDP training')
    return _save(fig, path)


def plot_polarization(history, path):
    """Shares of gates exactly 0, in between and >= 0.9 against the iteration, with the number
    of groups that lost every channel (GDP's polarization, paper Fig. 4, over time)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    it = history['iter']
    zero = 100 * np.asarray(history['zero_share'], dtype=float)
    high = 100 * np.asarray(history['high_share'], dtype=float)
    ax.stackplot(it, zero, 100 - zero - high, high, alpha=0.8,
                 labels=['exactly 0', 'in (0, 0.9)', '>= 0.9'],
                 colors=['#4c72b0', '#dd8452', '#55a868'])
    ax.set_xlabel('iteration')
    ax.set_ylabel('gates (%)')
    ax.set_ylim(0, 100)
    dead = history.get('dead_groups')
    if dead and max(dead) > 0:
        twin = ax.twinx()
        twin.step(it, dead, where='post', color='black', label='dead groups')
        twin.set_ylabel('groups with no channel')
        twin.legend(loc='lower right', fontsize=7)
    ax.legend(loc='lower left', fontsize=7)
    ax.set_title('Gate polarization during GDP training')
    return _save(fig, path)


def plot_tradeoff(summary, path, metric_label='metric', title=''):
    """Metric after fine-tuning against the FLOPs of the export, mean ± std over seeds, one
    line per method; the baseline as a band.

    Args:
        summary: Cells of :func:`gdpseg.evaluation.comparison.summarize`.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    methods = {}
    for cell in summary:
        methods.setdefault((cell['order'], cell['label']), []).append(cell)
    markers = 'osD^v<>pP*Xh'
    for j, ((_, label), cells) in enumerate(sorted(methods.items())):
        cells = [c for c in cells if c['final'][0] is not None]
        if not cells:
            continue
        if all(c['ratio'] >= 1 for c in cells):  # the baseline
            mean, std = cells[0]['final']
            ax.axhline(mean, color='black', lw=1, label=f'{label} (100 %)')
            ax.axhspan(mean - std, mean + std, color='black', alpha=0.1)
            continue
        cells = sorted(cells, key=lambda c: c['flops_ratio'][0])
        ax.errorbar([100 * c['flops_ratio'][0] for c in cells], [c['final'][0] for c in cells],
                    yerr=[c['final'][1] for c in cells], marker=markers[j % len(markers)],
                    capsize=3, lw=1.2, ms=5, label=label)
    ax.set_xlabel('FLOPs of the export (% of the full network)')
    ax.set_ylabel(f'{metric_label} after fine-tuning')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        set_title(ax, title)
    return _save(fig, path)


def plot_training_runs(runs, path, title=''):
    """GDP's training over several runs (paper Fig. 11 and Fig. 9 over seeds): the loss, the
    FLOPs ratio with its target and the polarised gates against the iteration; one colour per
    FLOPs ratio, one line style per seed.

    Args:
        runs: ``[dict(ratio, seed, curves)]`` with curves from
            :func:`gdpseg.evaluation.comparison.training_curves`.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(6.4, 7.2), sharex=True)
    ratios = sorted({r['ratio'] for r in runs}, reverse=True)
    seeds = sorted({r['seed'] for r in runs})
    styles = ['-', '--', ':', '-.']
    for run in runs:
        c, it = run['curves'], run['curves']['iter']
        color = f'C{ratios.index(run["ratio"]) % 10}'
        style = styles[seeds.index(run['seed']) % len(styles)]
        label = f'{100 * run["ratio"]:.0f} %, seed {run["seed"]}'
        axes[0].plot(it, c['loss'], style, color=color, lw=0.9, label=label)
        axes[1].plot(it, [100 * v for v in c['flops_ratio']], style, color=color, lw=1.2)
        target = [(i, t) for i, t in zip(it, c['target']) if t is not None]
        if target and run['seed'] == seeds[0]:
            axes[1].plot([i for i, _ in target], [100 * t for _, t in target], color=color,
                         lw=0.6, alpha=0.6)
        axes[2].plot(it, [100 * (v or 0) for v in c['zero_share']], style, color=color, lw=1.2)
        axes[2].plot(it, [100 * (v or 0) for v in c['high_share']], style, color=color, lw=0.7,
                     alpha=0.6)
    axes[0].set_ylabel('training loss')
    axes[0].legend(fontsize=7, ncol=max(1, len(seeds)))
    axes[1].set_ylabel('FLOPs kept (%)')
    axes[1].set_ylim(0, 105)
    axes[1].set_title('thin: the target the controller follows', fontsize=8)
    axes[2].set_ylabel('gates (%)')
    axes[2].set_ylim(0, 100)
    axes[2].set_title('thick: exactly 0; thin: >= 0.9', fontsize=8)
    axes[2].set_xlabel('iteration')
    for ax in axes:
        ax.grid(alpha=0.3)
    set_title(axes[0], title or 'GDP training over runs', fontsize=9)
    return _save(fig, path)


def plot_gated_vs_final(rows, path, metric_label='metric', title=''):
    """The gated network's metric against the metric after fine-tuning, one point per run (paper
    Fig. 10: across targets, how well the gated network predicts the fine-tuned one); one
    marker per method, one colour per FLOPs ratio, the diagonal for reference.

    Args:
        rows: Runs of :func:`gdpseg.evaluation.comparison.load_results` with a ``gated``
            metric (GDP's), ``final``, ``ratio``, ``label``.
    """
    from gdpseg.evaluation.comparison import pearson

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    rows = [r for r in rows if r.get('gated') is not None and r.get('final') is not None]
    ratios = sorted({r['ratio'] for r in rows}, reverse=True)
    labels = list(dict.fromkeys(r['label'] for r in rows))
    markers = 'osD^v<>pP*Xh'
    for j, label in enumerate(labels):
        runs = [r for r in rows if r['label'] == label]
        corr = pearson([r['gated'] for r in runs], [r['final'] for r in runs])
        ax.scatter([r['gated'] for r in runs], [r['final'] for r in runs],
                   c=[f'C{ratios.index(r["ratio"]) % 10}' for r in runs],
                   marker=markers[j % len(markers)], s=28)
        ax.scatter([], [], c='gray', marker=markers[j % len(markers)], s=28,  # the marker key
                   label=f'{label} (r = {corr:.2f})' if corr is not None else label)
    values = [v for r in rows for v in (r['gated'], r['final'])]
    if values:
        lo, hi = min(values), max(values)
        ax.plot([lo, hi], [lo, hi], color='gray', lw=0.8, ls='--')
    for k, ratio in enumerate(ratios):  # the colour key
        ax.scatter([], [], c=f'C{k % 10}', s=28, label=f'{100 * ratio:.0f} % FLOPs')
    ax.set_xlabel(f'{metric_label} of the gated network (= its export)')
    ax.set_ylabel(f'{metric_label} after fine-tuning')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    set_title(ax, title or 'gated network against fine-tuned, per run', fontsize=9)
    return _save(fig, path)
