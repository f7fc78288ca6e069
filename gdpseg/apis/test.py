"""Evaluate a checkpoint (gated or baseline) or an export of tools/prune.py, for any task.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--shape H W] [--quiet]
                                           [--show-dir DIR]
                                           [--cfg-options k=v ...] [--launcher pytorch]

CHECKPOINT is a training checkpoint (``iter_N.pth``), or an export: its directory or its
``plan.json`` (the model is rebuilt from the export's config and plan, weights loaded without
pickle). The config gives the test data and evaluator. Prints the task's metrics and the FLOPs
(conv+linear multiply-adds) of what it evaluated. Checkpoints load strictly: one that does not fit
the config's model is refused with what does not fit. A model with non-finite outputs is refused.
A pickled module (``pruned.pth``) is refused: unpickling can run code.
"""
import argparse
import contextlib
import os
import os.path as osp

import torch
from mmengine.config import DictAction
from mmengine.runner import Runner

from gdpseg.engine.checkpoint import load_weights, read_state_dict
from gdpseg.engine.dist import setup_cpu_distributed
from gdpseg.core.nested import iter_tensors
from gdpseg.engine.export_dir import export_input_shape, is_export, load_export
from gdpseg.engine.quiet import QuietRunner, quiet_cfg, quiet_stdout
from gdpseg.engine.tasks import check_data, task_for, task_for_cfg
from gdpseg.evaluation import TensorMode, count_conv_linear_flops
from gdpseg.utils import load_config, register_all_modules


def check_finite_outputs(model, shape):
    """Refuse a model whose outputs are NaN/inf (a diverged or corrupted checkpoint), which
    would otherwise be scored as if it predicted one class everywhere."""
    was_training = model.training
    model.eval()
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            out = model(x, mode='tensor')
    finally:
        model.train(was_training)
    if not all(bool(torch.isfinite(t).all()) for t in iter_tensors(out)):
        raise ValueError('the model\'s outputs are not finite (NaN/inf): its weights are broken, '
                         'e.g. training diverged; evaluate an earlier checkpoint')


def _sample_size(runner):
    """(H, W) of the first test input as the test pipeline gives it, or None."""
    try:
        sample = runner.test_loop.dataloader.dataset[0]
        return tuple(int(s) for s in sample['inputs'].shape[-2:])
    except Exception:  # noqa: BLE001  (a dataset without a first sample: keep the default)
        return None


def _unwrap(model):
    return model.module if hasattr(model, 'module') else model


def main(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint or an export')
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='training checkpoint, export directory or plan.json')
    parser.add_argument('--work-dir')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size for the FLOPs count (default: the traced size)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--show-dir', help='draw every test prediction into this folder')
    parser.add_argument('--quiet', action='store_true',
                        help='a progress bar and warnings only; the full log goes to the work dir')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--debug', action='store_true',
                        help='show the traceback of an error in the config, data or files')
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    if not osp.exists(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg.launcher = args.launcher
    setup_cpu_distributed(cfg)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_data(cfg.test_dataloader)
    if args.show_dir:
        task_for_cfg(cfg).show(cfg, osp.abspath(args.show_dir))
    cfg.resume = False
    runner_cls = QuietRunner if args.quiet else Runner
    if args.quiet:
        quiet_cfg(cfg)
    if is_export(args.checkpoint):
        kind = 'export'
        cfg.load_from = None
        exported = load_export(args.checkpoint)
        traced_shape = export_input_shape(args.checkpoint)
        runner = runner_cls(
            model=exported, work_dir=cfg.work_dir,
            custom_hooks=[h for h in cfg.get('custom_hooks', [])
                          if str(h.get('type')).endswith('ProgressBarHook')],
            test_dataloader=cfg.test_dataloader, test_evaluator=cfg.test_evaluator,
            test_cfg=cfg.get('test_cfg', dict(type='TestLoop')),
            default_hooks=cfg.get('default_hooks'), launcher=cfg.launcher,
            env_cfg=cfg.get('env_cfg', dict(dist_cfg=dict(backend='nccl'))),
            log_processor=cfg.get('log_processor'), visualizer=cfg.get('visualizer'),
            default_scope=cfg.get('default_scope', 'mmengine'), cfg=cfg)
    else:
        if osp.isdir(args.checkpoint):
            raise FileNotFoundError(f'{args.checkpoint} is a directory without plan.json')
        state = read_state_dict(args.checkpoint)  # a clear error before building anything
        kind = 'checkpoint'
        # a fine-tuned export (model=PrunedModel): the input shape its export was traced at
        plan = cfg.model.get('plan') if str(cfg.model.get('type', '')).endswith(
            'PrunedModel') else None
        traced_shape = export_input_shape(plan) if plan and is_export(plan) else None
        cfg.load_from = None  # loaded strictly below, not by the runner
        runner = runner_cls.from_cfg(cfg)
        load_weights(_unwrap(runner.model), args.checkpoint, state)
    model = _unwrap(runner.model)
    preprocessor = cfg.model.get('data_preprocessor', {}) or {}
    size = preprocessor.get('size') or (tuple(args.shape) if args.shape else (512, 512))
    channels = len(preprocessor.get('mean') or (0, 0, 0))  # 1 for gray images
    probe = tuple(getattr(model, 'input_shape', None) or traced_shape or (1, channels, *size))
    check_finite_outputs(model, probe)
    with quiet_stdout() if args.quiet else contextlib.nullcontext():
        metrics = runner.test()
    gates = getattr(model, 'gates', None)
    if gates is not None:
        flops = gates.flops()
        note = f'gated model, as its export keeps it, at {tuple(model.input_shape)}'
    else:
        if not (preprocessor.get('size') or args.shape or traced_shape):
            size = _sample_size(runner) or size  # e.g. 28x28 Fashion-MNIST, not 512x512
        shape = tuple(traced_shape or (1, channels, *size))
        if args.shape:
            shape = (*shape[:2], *args.shape)
        flops = count_conv_linear_flops(TensorMode(model.eval()), (torch.zeros(shape),))
        note = f'{kind}, at {shape}'
    print(task_for(model).format_metrics(metrics) or '(no metrics)')
    print(f'FLOPs (conv+linear MACs): {flops:,} ({note})')
    return metrics, flops
