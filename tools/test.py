"""Evaluate a gated GDP checkpoint, a baseline checkpoint or an exported ``pruned.pth``.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--shape H W]
                                           [--cfg-options k=v ...] [--launcher pytorch]

Prints mIoU (mmseg's IoUMetric) and the FLOPs (conv+linear multiply-adds) of what it evaluated.
An exported ``pruned.pth`` is a pickled module: load only files you trust.
"""
import argparse
import os
import os.path as osp
import pickle
import sys

import torch
import torch.nn as nn
from mmengine.config import DictAction
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from gdpseg.datasets import check_voc_layout
from gdpseg.engine.dist import setup_cpu_distributed
from gdpseg.evaluation import TensorMode, count_conv_linear_flops
from gdpseg.registry import MODELS
from gdpseg.utils import load_config, register_all_modules



def load_export(path):
    """The pickled module of an export, or None when ``path`` is an ordinary checkpoint."""
    try:
        torch.load(path, map_location='cpu', weights_only=True)
        return None
    except pickle.UnpicklingError:
        obj = torch.load(path, map_location='cpu', weights_only=False)
        return obj if isinstance(obj, nn.Module) else None


def model_for_export(cfg, network):
    """An evaluable segmentor around an exported network, per the config's architecture."""
    from mmseg.models.segmentors.base import BaseSegmentor

    if isinstance(network, BaseSegmentor):  # an mmseg segmentor was exported whole
        return network
    arch = cfg.model.get('architecture', cfg.model)
    if not str(arch.get('type', '')).endswith('PlainSegmentor'):
        raise ValueError(f"cannot evaluate an exported network with architecture "
                         f"{arch.get('type')}; expected PlainSegmentor")
    kwargs = {k: v for k, v in arch.items() if k not in ('type', 'network', '_scope_')}
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'gdpseg')):
        return MODELS.build(dict(type='PlainSegmentor', network=network, **kwargs))


def main(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate mIoU and FLOPs')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--work-dir')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size for the FLOPs count (default: the GDP trace size)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg.launcher = args.launcher
    setup_cpu_distributed(cfg)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_voc_layout(cfg.test_dataloader)
    size = cfg.model.get('data_preprocessor', {}).get('size') or (512, 512)
    shape = tuple(cfg.model.get('input_shape', (1, 3, *size)))
    if args.shape:
        shape = (1, 3, *args.shape)
    exported = load_export(args.checkpoint)
    cfg.resume = False
    if exported is not None:
        kind = 'exported network'
        cfg.load_from = None
        runner = Runner(
            model=model_for_export(cfg, exported), work_dir=cfg.work_dir,
            test_dataloader=cfg.test_dataloader, test_evaluator=cfg.test_evaluator,
            test_cfg=cfg.get('test_cfg', dict(type='TestLoop')),
            default_hooks=cfg.get('default_hooks'), launcher=cfg.launcher,
            env_cfg=cfg.get('env_cfg', dict(dist_cfg=dict(backend='nccl'))),
            log_processor=cfg.get('log_processor'), visualizer=cfg.get('visualizer'),
            default_scope=cfg.get('default_scope', 'mmengine'), cfg=cfg)
    else:
        kind = 'checkpoint'
        cfg.load_from = args.checkpoint
        runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    gates = getattr(model, 'gates', None)
    if gates is not None:
        flops = gates.flops()
        note = f'gated model, as its export keeps it, at {tuple(model.input_shape)}'
    else:
        flops = count_conv_linear_flops(TensorMode(model.eval()), (torch.zeros(shape),))
        note = f'{kind}, at {shape}'
    print(f"mIoU: {metrics.get('mIoU')}  aAcc: {metrics.get('aAcc')}  mAcc: {metrics.get('mAcc')}")
    print(f'FLOPs (conv+linear MACs): {flops:,} ({note})')
    return metrics, flops


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'error: {exc}')
