"""The main job on a built-in default (``make demo``): GDP end to end on CPU, no download.

1. builds small data in a real layout from files installed packages ship (segmentation: digits
   on canvases in Pascal VOC layout; classification: digits in CIFAR-10's python layout; style
   transfer: crops of scikit-learn's sample photos);
2. trains a small baseline through MMEngine's Runner (configs/demo/...baseline.py);
3. trains it with GDP from that checkpoint (configs/demo/...gdp.py): gates, proximal FLOPs step,
   ε decay, logged FLOPs ratio and gate pictures;
4. exports the pruned network (tools/prune.py) and fine-tunes the export briefly
   (configs/demo/...finetune.py);
5. evaluates baseline, gated, exported and fine-tuned models (tools/test.py): the task's metric
   and FLOPs, and writes ``WORK_DIR/report.md`` with the numbers and the plots.

    python tools/demo.py [--task seg|cls|style] [--work-dir work_dirs/demo] [--base-iters N]
        [--gdp-iters N] [--finetune-iters N]
"""
import argparse
import contextlib
import json
import os.path as osp
import shutil
import time

from gdpseg.datasets import make_digits_cifar, make_digits_voc, make_sample_style_data

HERE = osp.dirname(osp.abspath(__file__))
CONFIGS = osp.join(HERE, '..', 'configs', 'demo')
PICTURES = ('gdp_gate_histogram.png', 'gdp_flops_ratio.png', 'gdp_polarization.png')


@contextlib.contextmanager
def _output_to(path):
    """Send what a tool prints to ``path`` (None: leave it on the console)."""
    if path is None:
        yield
        return
    with open(path, 'w') as f, contextlib.redirect_stdout(f):
        yield


def _seg_data(work):
    root = make_digits_voc(osp.join(work, 'data', 'VOCdevkit', 'VOC2012'), num_train=256,
                           num_val=32, digits_per_image=(1, 2), digit_size=(0.4, 0.7))
    data = [f'{k}.dataset.data_root={root}' for k in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    return root, data, data, data


def _cls_data(work):
    root = make_digits_cifar(osp.join(work, 'data', 'digits_cifar'))
    data = [f'{k}.dataset.data_root={root}/' for k in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    return root, data, data, data


def _style_data(work):
    root = make_sample_style_data(osp.join(work, 'data', 'sample_style'), size=96)
    data = [f'train_dataloader.dataset.data_root={root}/content/train',
            f'val_dataloader.dataset.data_root={root}/content/val',
            f'test_dataloader.dataset.data_root={root}/content/val']
    style = f'{root}/style.jpg'
    return root, data + [f'model.style_image={style}'], \
        data + [f'model.architecture.style_image={style}'], data


# per task: configs, data, metric (name, key, higher is better), default iterations, λ option
TASKS = {
    'seg': dict(name='a small DeepLabV3+ (segmentation)', prefix='digits_deeplabv3plus',
                gdp='gdp_target', ratio=0.75,
                data=_seg_data, metric=('mIoU', 'mIoU', True), iters=(800, 400, 300),
                schedule=True, layout='scikit-learn digits on canvases, Pascal VOC layout, 64x64'),
    'cls': dict(name='a CIFAR ResNet-20 (mmpretrain classification)',
                prefix='digits_resnet20_cifar', data=_cls_data,
                metric=('top-1 %', 'accuracy/top1', True), iters=(400, 300, 200),
                schedule=False, layout='scikit-learn digits in CIFAR-10 python layout, 32x32'),
    'style': dict(name='TransformerNet (fast style transfer, EfficientNet-Lite0 loss)',
                  prefix='sample_transformernet', data=_style_data,
                  metric=('total loss', 'style/total_loss', False), iters=(60, 60, 30),
                  schedule=False,
                  layout='crops of scikit-learn\'s china.jpg, style flower.jpg, 64x64'),
}


def main():
    parser = argparse.ArgumentParser(description='GDP demo on generated data')
    parser.add_argument('--task', choices=sorted(TASKS), default='seg')
    parser.add_argument('--work-dir', help='default: work_dirs/demo (seg), work_dirs/demo_TASK')
    parser.add_argument('--base-iters', type=int)
    parser.add_argument('--gdp-iters', type=int)
    parser.add_argument('--finetune-iters', type=int)
    parser.add_argument('--ratio', type=float,
                        help='FLOPs budget of the GDP run (default: 0.75 for seg; the cls and '
                             'style configs ask for 0.5)')
    parser.add_argument('--lam', type=float,
                        help='a fixed λ instead of the FLOPs budget (segmentation; the README\'s '
                             'earlier figures used 140 with 400 GDP iterations)')
    parser.add_argument('--verbose', action='store_true',
                        help="MMEngine's full log on the console (it always goes to the work dirs)")
    args = parser.parse_args()
    quiet = [] if args.verbose else ['--quiet']
    start = time.time()
    task = TASKS[args.task]
    work = osp.abspath(args.work_dir or ('work_dirs/demo' if args.task == 'seg' else
                                         f'work_dirs/demo_{args.task}'))
    root, base_data, gdp_data, ft_data = task['data'](work)
    base_cfg, gdp_cfg, ft_cfg = (osp.join(CONFIGS, f"{task['prefix']}_{kind}.py")
                                 for kind in ('baseline', task.get('gdp', 'gdp'), 'finetune'))
    if args.lam is not None:
        gdp_cfg = osp.join(CONFIGS, f"{task['prefix']}_gdp.py")
    b, g, f = (given or default for given, default in zip(
        (args.base_iters, args.gdp_iters, args.finetune_iters), task['iters']))
    sched = (lambda n: [f'param_scheduler.0.end={n}']) if task['schedule'] else \
        (lambda n: [])
    metric_name, metric_key, higher = task['metric']
    from gdpseg.apis import prune, test, train

    print(f'== {b} + {g} + {f} iterations (baseline, GDP, fine-tune); for a shorter run: '
          f'python tools/demo.py --task {args.task} --base-iters N --gdp-iters N '
          '--finetune-iters N (the FLOPs budget still holds)', flush=True)
    print('== 1/5 baseline training', flush=True)
    phase = time.time()
    base_dir = osp.join(work, 'baseline')
    # one visualizer per phase: MMEngine keeps visualizers by name within a process
    train.main([base_cfg, '--work-dir', base_dir, *quiet, '--cfg-options', *base_data,
                'visualizer.name=demo_baseline',
                f'train_cfg.max_iters={b}', f'train_cfg.val_interval={b}',
                f'default_hooks.checkpoint.interval={b}', *sched(b)])
    base_ckpt = osp.join(base_dir, f'iter_{b}.pth')
    per_iter = (time.time() - phase) / b
    # GDP's iterations cost about 1.3 of the baseline's here; evaluation about 10 iterations
    left = per_iter * (1.3 * g + f + 40)
    print(f'baseline: {per_iter:.2f} s per iteration; the rest takes about '
          f'{left / 60:.0f} min{" (a busy machine: shorten the run as above)" if left > 900 else ""}',
          flush=True)

    print('== 2/5 GDP training', flush=True)
    gdp_dir = osp.join(work, 'gdp')
    if args.lam is not None:
        if args.task != 'seg':
            raise SystemExit('error: --lam is for the segmentation demo; the others take --ratio')
        budget = [f'custom_hooks.0.lam={args.lam}']
    else:
        ratio = args.ratio or task.get('ratio')
        budget = [f'custom_hooks.0.lam.ratio={ratio}'] if ratio else []
    if task['schedule']:  # ε decays 20 times whatever the run's length
        budget.append(f'custom_hooks.0.eps_period={max(1, g // 20)}')
    train.main([gdp_cfg, '--work-dir', gdp_dir, *quiet, '--cfg-options', *gdp_data,
                'visualizer.name=demo_gdp',
                f'load_from={base_ckpt}', f'train_cfg.max_iters={g}',
                f'train_cfg.val_interval={g}', f'default_hooks.checkpoint.interval={g}',
                *sched(g), *budget])
    gdp_ckpt = osp.join(gdp_dir, f'iter_{g}.pth')

    print('== 3/5 export', flush=True)
    export_dir = osp.join(work, 'export')
    exported = osp.join(export_dir, 'plan.json')
    with _output_to(None if args.verbose else osp.join(work, 'export.log')):
        info = prune.main([gdp_cfg, gdp_ckpt, '--out', export_dir, '--cfg-options',
                           *gdp_data])
    print(f"exported to {export_dir}: FLOPs {100 * info['flops']['ratio']:.1f} %, parameters "
          f"{100 * info['params']['ratio']:.1f} %, max |export - gated| / max |gated| = "
          f"{info['max_relative_difference_to_gated']:.1e}", flush=True)

    print('== 4/5 fine-tuning the export', flush=True)
    ft_dir = osp.join(work, 'finetune')
    model_opt = [f'model.plan={exported}']
    train.main([ft_cfg, '--work-dir', ft_dir, *quiet, '--cfg-options', *ft_data, *model_opt,
                'visualizer.name=demo_finetune',
                f'train_cfg.max_iters={f}', f'train_cfg.val_interval={f}',
                f'default_hooks.checkpoint.interval={f}', *sched(f)])

    print('== 5/5 evaluation', flush=True)
    results = {}
    shape = [str(s) for s in info['input_shape'][2:]]
    for name, cfg, ckpt, extra in (
            ('baseline', base_cfg, base_ckpt, base_data), ('gated', gdp_cfg, gdp_ckpt, gdp_data),
            ('exported', gdp_cfg, exported, gdp_data),
            ('exported + fine-tuned', ft_cfg, osp.join(ft_dir, f'iter_{f}.pth'),
             ft_data + model_opt)):
        tag = name.replace(' ', '').replace('+', '_')
        with _output_to(None if args.verbose else osp.join(work, f'test_{tag}.log')):
            metrics, flops = test.main([cfg, ckpt, '--work-dir', osp.join(work, 'test_' + tag),
                                        '--shape', *shape, *quiet, '--cfg-options', *extra,
                                        'visualizer.name=demo_test_' + tag])
        results[name] = dict(metric=float(metrics[metric_key]), flops=int(flops))
        print(f"{name}: {metric_name} {results[name]['metric']:.4g}, {flops:,} MACs",
              flush=True)
    for png in PICTURES:
        shutil.copy(osp.join(gdp_dir, png), osp.join(work, png))
    wall = time.time() - start
    full = results['baseline']['flops']
    size = 'x'.join(str(s) for s in info['input_shape'])
    lines = [f"# gdpseg demo: GDP on {task['name']}", '',
             f"Data: {root} ({task['layout']})", '',
             f"| model | {metric_name} ({'higher' if higher else 'lower'} is better) | "
             f'conv+linear MACs at {size} | FLOPs ratio |',
             '| --- | --- | --- | --- |']
    for name, r in results.items():
        lines.append(f"| {name} | {r['metric']:.4g} | {r['flops']:,} | "
                     f"{100 * r['flops'] / full:.1f} % |")
    lines += ['', f'Wall time {wall:.0f} s. The export ({export_dir}: plan.json + '
              'pruned_weights.pth) computes what the gated network computes, so their '
              'metrics agree.', '',
              '![gate histograms over training](gdp_gate_histogram.png)', '',
              '![FLOPs ratio](gdp_flops_ratio.png)', '',
              '![gate polarization](gdp_polarization.png)', '', '```',
              open(osp.join(export_dir, 'report.txt')).read(), '```']
    if args.task == 'style':  # people look at style transfer: content | stylised, per model
        import glob
        pics = ['', '## Samples (content | stylised)', '']
        for name in results:
            tag = name.replace(' ', '').replace('+', '_')
            for png in sorted(glob.glob(osp.join(work, f'test_{tag}', 'style_samples', 'test',
                                                 '*.png')))[:2]:
                pics.append(f'{name}: ![{name}]({osp.relpath(png, work)})')
                pics.append('')
        lines[-3:-3] = pics
    with open(osp.join(work, 'report.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(osp.join(work, 'result.json'), 'w') as f:
        json.dump(dict(results=results, wall_s=wall), f, indent=2)
    print('\n'.join(lines[4:10]))
    print(f'report: {osp.join(work, "report.md")}')
    gap = abs(results['gated']['metric'] - results['exported']['metric'])
    if gap > 1e-6 * max(1.0, abs(results['gated']['metric'])):
        raise SystemExit('error: the exported network disagrees with the gated network')


if __name__ == '__main__':
    main()
