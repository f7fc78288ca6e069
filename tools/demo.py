"""Demo of GDP end to end on CPU, without any download: the default job of `make demo`.

Builds a small segmentation set in Pascal VOC layout from scikit-learn's handwritten digits,
trains a small DeepLabV3+ (ResNet-18 backbone), then trains it with GDP gates and the proximal
FLOPs step, exports the pruned network, and reports mIoU and FLOPs before and after, with a gate
histogram and the FLOPs-ratio curve, under ``work_dirs/demo``.

    python tools/demo.py [--work-dir work_dirs/demo] [--iters 150] [--lam 2.0]
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from rich.progress import track

from gdpseg.core import EpsilonDecay, attach_gates, prune
from gdpseg.datasets import make_digits_voc
from gdpseg.evaluation import count_conv_linear_flops
from gdpseg.models import DeepLabV3Plus

NUM_CLASSES = 11  # background + digits 0-9 (labels 0..10 of VOC's 21)


def load_split(root, split):
    names = (root / 'ImageSets' / 'Segmentation' / f'{split}.txt').read_text().split()
    imgs = np.stack([np.asarray(Image.open(root / 'JPEGImages' / f'{n}.jpg')) for n in names])
    segs = np.stack([np.asarray(Image.open(root / 'SegmentationClass' / f'{n}.png'))
                     for n in names])
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0
    return (x - 0.3) / 0.3, torch.from_numpy(segs).long()


def miou(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 8]).argmax(1) for i in range(0, len(x), 8)])
    ious = []
    for c in range(NUM_CLASSES):
        inter = ((pred == c) & (y == c)).sum().item()
        union = ((pred == c) | (y == c)).sum().item()
        if union:
            ious.append(inter / union)
    return 100 * float(np.mean(ious))


def train(model, x, y, iters, lr, desc, gates=None, lam=0.0, eps_sched=None, log=None):
    params = [{'params': list(model.parameters())}]
    if gates is not None:  # gates: own group, no weight decay
        params.append({'params': [p for p in gates.parameters() if p.requires_grad],
                       'lr': lr, 'weight_decay': 0.0})
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    g = torch.Generator().manual_seed(0)
    model.train()
    for it in track(range(iters), description=desc):
        idx = torch.randint(0, len(x), (8,), generator=g)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if gates is not None:
            gates.prox_step(opt.param_groups[1]['lr'], lam)
            eps_sched.step()
            if log is not None and (it % 10 == 0 or it == iters - 1):
                log.append({'iter': it, 'flops_ratio': gates.flops_ratio(),
                            'gates': gates.gate_values().tolist(), 'eps': float(gates.eps)})


def plots(log, out_dir):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([r['iter'] for r in log], [100 * r['flops_ratio'] for r in log])
    ax.set_xlabel('iteration')
    ax.set_ylabel('FLOPs ratio (%)')
    ax.set_title('Remaining FLOPs during GDP training')
    fig.tight_layout()
    fig.savefig(out_dir / 'flops_curve.png', dpi=120)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    picks = [log[0], log[len(log) // 2], log[-1]]
    for r in picks:
        ax.hist(r['gates'], bins=40, range=(0, 1), histtype='step',
                label=f"iter {r['iter']} (eps={r['eps']:.3f})")
    ax.set_yscale('log')
    ax.set_xlabel('gate value g(alpha)')
    ax.set_ylabel('channels')
    ax.set_title('Gate polarisation')
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / 'gate_histogram.png', dpi=120)
    plt.close('all')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--iters', type=int, default=200, help='iterations of each phase')
    parser.add_argument('--lam', type=float, default=100.0,
                        help='λ of the normalised FLOPs term (the demo is ~300x shorter than a '
                             'real run, so λ is large)')
    args = parser.parse_args()
    start = time.time()
    torch.manual_seed(0)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    out = Path(args.work_dir)
    root = make_digits_voc(out / 'data' / 'VOCdevkit' / 'VOC2012', num_train=96, num_val=32)
    x, y = load_split(root, 'train')
    xv, yv = load_split(root, 'val')

    model = DeepLabV3Plus(num_classes=NUM_CLASSES, depth=18, output_stride=32,
                          aspp_channels=64)
    train(model, x, y, args.iters, 0.05, 'baseline training')
    base_miou = miou(model, xv, yv)

    gates = attach_gates(model, (xv[:1],))
    sched = EpsilonDecay(gates, factor=0.9, period=10)
    log = []
    train(model, x, y, args.iters, 0.02, 'GDP training', gates, args.lam, sched, log)
    gated_miou = miou(model, xv, yv)
    pruned = prune(model, gates)
    pruned_miou = miou(pruned, xv, yv)
    flops_full = count_conv_linear_flops(DeepLabV3Plus(num_classes=NUM_CLASSES, depth=18,
                                                       output_stride=32, aspp_channels=64),
                                         (xv[:1],))
    flops_pruned = count_conv_linear_flops(pruned, (xv[:1],))
    torch.save(pruned, out / 'pruned.pth')
    plots(log, out)
    result = {
        'baseline_mIoU': round(base_miou, 2), 'gated_mIoU': round(gated_miou, 2),
        'pruned_mIoU': round(pruned_miou, 2), 'flops_full': flops_full,
        'flops_pruned': flops_pruned, 'flops_ratio': round(flops_pruned / flops_full, 4),
        'gates_flops_model': gates.flops(), 'params_full': gates.full_params(),
        'params_pruned': gates.params(), 'wall_s': round(time.time() - start, 1),
    }
    (out / 'result.json').write_text(json.dumps(result, indent=2))
    lines = ['# gdpseg demo', '', f'Data: {root} (digits on canvases, VOC layout)', '',
             '| | mIoU (val) | conv+linear MACs at 64x64 |', '| --- | --- | --- |',
             f'| baseline | {base_miou:.2f} | {flops_full:,} |',
             f'| gated (after GDP) | {gated_miou:.2f} | {gates.flops():,} |',
             f'| exported `pruned.pth` | {pruned_miou:.2f} | {flops_pruned:,} |', '',
             f'FLOPs ratio {100 * result["flops_ratio"]:.1f} %, '
             f'wall time {result["wall_s"]} s.', '',
             '![gates](gate_histogram.png) ![flops](flops_curve.png)', '', '```',
             gates.summary(), '```']
    (out / 'report.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines[4:10]))
    print(f'report: {out / "report.md"}')
    if abs(pruned_miou - gated_miou) > 1e-6:
        raise SystemExit('exported model disagrees with the gated model')


if __name__ == '__main__':
    main()
