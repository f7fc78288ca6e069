"""The main job on a built-in default (``make demo``): GDP end to end on CPU, no download.

1. builds a small segmentation set in Pascal VOC layout from scikit-learn's bundled digits;
2. trains a small DeepLabV3+ baseline through MMEngine's Runner (configs/demo/...baseline.py);
3. trains it with GDP from that checkpoint (configs/demo/...gdp.py): gates, proximal FLOPs step,
   ε decay, logged FLOPs ratio and gate pictures;
4. exports the pruned network (tools/prune.py) and fine-tunes the export briefly
   (configs/demo/...finetune.py);
5. evaluates baseline, gated, exported and fine-tuned models (tools/test.py): mIoU and FLOPs,
   and writes ``work_dirs/demo/report.md`` with the numbers and the plots.

    python tools/demo.py [--work-dir work_dirs/demo] [--base-iters 800] [--gdp-iters 400]
"""
import argparse
import contextlib
import importlib.util
import json
import os.path as osp
import shutil
import time

from gdpseg.datasets import make_digits_voc

HERE = osp.dirname(osp.abspath(__file__))
CONFIGS = osp.join(HERE, '..', 'configs', 'demo')


def _tool(name):
    spec = importlib.util.spec_from_file_location(f'gdpseg_tool_{name}', osp.join(HERE, name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _output_to(path):
    """Send what a tool prints to ``path`` (None: leave it on the console)."""
    if path is None:
        yield
        return
    with open(path, 'w') as f, contextlib.redirect_stdout(f):
        yield


def main():
    parser = argparse.ArgumentParser(description='GDP demo on generated VOC-layout data')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--base-iters', type=int, default=800)
    parser.add_argument('--gdp-iters', type=int, default=400)
    parser.add_argument('--finetune-iters', type=int, default=300)
    parser.add_argument('--lam', type=float, default=140.0)
    parser.add_argument('--verbose', action='store_true',
                        help="MMEngine's full log on the console (it always goes to the work dirs)")
    args = parser.parse_args()
    quiet = [] if args.verbose else ['--quiet']
    start = time.time()
    work = osp.abspath(args.work_dir)
    root = make_digits_voc(osp.join(work, 'data', 'VOCdevkit', 'VOC2012'), num_train=256,
                           num_val=32, digits_per_image=(1, 2), digit_size=(0.4, 0.7))
    data = [f'{k}.dataset.data_root={root}' for k in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    base_cfg = osp.join(CONFIGS, 'digits_deeplabv3plus_baseline.py')
    gdp_cfg = osp.join(CONFIGS, 'digits_deeplabv3plus_gdp.py')
    ft_cfg = osp.join(CONFIGS, 'digits_deeplabv3plus_finetune.py')
    train, test, prune = _tool('train.py'), _tool('test.py'), _tool('prune.py')

    print('== 1/5 baseline training', flush=True)
    base_dir = osp.join(work, 'baseline')
    b = args.base_iters
    # one visualizer per phase: MMEngine keeps visualizers by name within a process
    train.main([base_cfg, '--work-dir', base_dir, *quiet, '--cfg-options', *data,
                'visualizer.name=demo_baseline',
                f'train_cfg.max_iters={b}', f'train_cfg.val_interval={b}',
                f'default_hooks.checkpoint.interval={b}', f'param_scheduler.0.end={b}'])
    base_ckpt = osp.join(base_dir, f'iter_{b}.pth')

    print('== 2/5 GDP training', flush=True)
    gdp_dir = osp.join(work, 'gdp')
    g = args.gdp_iters
    train.main([gdp_cfg, '--work-dir', gdp_dir, *quiet, '--cfg-options', *data,
                'visualizer.name=demo_gdp',
                f'load_from={base_ckpt}', f'train_cfg.max_iters={g}',
                f'train_cfg.val_interval={g}', f'default_hooks.checkpoint.interval={g}',
                f'param_scheduler.0.end={g}', f'custom_hooks.0.lam={args.lam}'])
    gdp_ckpt = osp.join(gdp_dir, f'iter_{g}.pth')

    print('== 3/5 export', flush=True)
    export_dir = osp.join(work, 'export')
    exported = osp.join(export_dir, 'plan.json')
    with _output_to(None if args.verbose else osp.join(work, 'export.log')):
        info = prune.main([gdp_cfg, gdp_ckpt, '--out', export_dir])
    print(f"exported to {export_dir}: FLOPs {100 * info['flops']['ratio']:.1f} %, parameters "
          f"{100 * info['params']['ratio']:.1f} %, max |export - gated| / max |gated| = "
          f"{info['max_relative_difference_to_gated']:.1e}", flush=True)

    print('== 4/5 fine-tuning the export', flush=True)
    ft_dir = osp.join(work, 'finetune')
    f = args.finetune_iters
    model_opt = [f'model.plan={exported}']
    train.main([ft_cfg, '--work-dir', ft_dir, *quiet, '--cfg-options', *data, *model_opt,
                'visualizer.name=demo_finetune',
                f'train_cfg.max_iters={f}', f'train_cfg.val_interval={f}',
                f'default_hooks.checkpoint.interval={f}', f'param_scheduler.0.end={f}'])

    print('== 5/5 evaluation', flush=True)
    results = {}
    for name, cfg, ckpt, extra in (
            ('baseline', base_cfg, base_ckpt, []), ('gated', gdp_cfg, gdp_ckpt, []),
            ('exported', gdp_cfg, exported, []),
            ('exported + fine-tuned', ft_cfg, osp.join(ft_dir, f'iter_{f}.pth'), model_opt)):
        tag = name.replace(' ', '').replace('+', '_')
        with _output_to(None if args.verbose else osp.join(work, f'test_{tag}.log')):
            metrics, flops = test.main([cfg, ckpt, '--work-dir', osp.join(work, 'test_' + tag),
                                        '--shape', '64', '64', *quiet, '--cfg-options', *data,
                                        *extra, 'visualizer.name=demo_test_' + tag])
        results[name] = dict(mIoU=float(metrics['mIoU']), flops=int(flops))
        print(f"{name}: mIoU {results[name]['mIoU']:.2f}, {flops:,} MACs", flush=True)
    for png in ('gdp_gate_histogram.png', 'gdp_flops_ratio.png'):
        shutil.copy(osp.join(gdp_dir, png), osp.join(work, png))
    wall = time.time() - start
    full = results['baseline']['flops']
    lines = ['# gdpseg demo: GDP on a small DeepLabV3+', '',
             f'Data: {root} (scikit-learn digits on canvases, Pascal VOC layout, 64x64)', '',
             '| model | mIoU (val) | conv+linear MACs at 1x3x64x64 | FLOPs ratio |',
             '| --- | --- | --- | --- |']
    for name, r in results.items():
        lines.append(f"| {name} | {r['mIoU']:.2f} | {r['flops']:,} | "
                     f"{100 * r['flops'] / full:.1f} % |")
    lines += ['', f'Wall time {wall:.0f} s. The export ({export_dir}: plan.json + '
              'pruned_weights.pth) computes what the gated network computes, so their mIoU '
              'agree.', '',
              '![gate histogram](gdp_gate_histogram.png)', '',
              '![FLOPs ratio](gdp_flops_ratio.png)', '', '```',
              open(osp.join(export_dir, 'report.txt')).read(), '```']
    with open(osp.join(work, 'report.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(osp.join(work, 'result.json'), 'w') as f:
        json.dump(dict(results=results, wall_s=wall), f, indent=2)
    print('\n'.join(lines[4:10]))
    print(f'report: {osp.join(work, "report.md")}')
    if abs(results['gated']['mIoU'] - results['exported']['mIoU']) > 1e-6:
        raise SystemExit('error: the exported network disagrees with the gated network')


if __name__ == '__main__':
    main()
