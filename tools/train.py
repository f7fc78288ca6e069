"""Train a model (GDP or baseline) from a config with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.runner import Runner

from gdpseg.engine.dist import setup_cpu_distributed
from gdpseg.engine.tasks import check_data
from gdpseg.utils import load_config, register_all_modules


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a segmentor (with GDP) by config')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs, checkpoints and pictures go')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint of the work dir')
    parser.add_argument('--amp', action='store_true', help='mixed precision training')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_cfg(args):
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    check_gdp_cfg(cfg)
    return cfg


def check_gdp_cfg(cfg):
    """A GDP model without GDPHook would train without ever pruning: refuse it."""
    model_type = str(cfg.model.get('type', ''))
    hooks = [str(h.get('type', '')) for h in cfg.get('custom_hooks', [])]
    if model_type.endswith('GDPAlgorithm') and not any(h.endswith('GDPHook') for h in hooks):
        raise ValueError("model is GDPAlgorithm but custom_hooks has no GDPHook: add "
                         "dict(type='GDPHook', lam=..., eps_factor=..., eps_period=...)")
    if cfg.get('load_from') and not cfg.get('resume') and not osp.isfile(cfg.load_from):
        raise FileNotFoundError(f'load_from={cfg.load_from} does not exist: train the baseline '
                                'first or pass --cfg-options load_from=PATH (or None)')


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = build_cfg(args)
    setup_cpu_distributed(cfg)
    for key in ('train_dataloader', 'val_dataloader'):
        if cfg.get(key):
            check_data(cfg[key])
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'error: {exc}')
