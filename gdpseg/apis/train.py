"""Train a model (GDP or baseline) from a config with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--quiet]
                                 [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse
import contextlib
import os
import os.path as osp
import warnings

import torch
from mmengine.config import DictAction
from mmengine.hooks import Hook
from mmengine.runner import Runner

from gdpseg.engine.checkpoint import load_weights, read_state_dict, work_dir_checkpoints
from gdpseg.engine.dist import setup_cpu_distributed
from gdpseg.engine.quiet import QuietRunner, quiet_cfg, quiet_stdout
from gdpseg.engine.tasks import check_data, task_for
from gdpseg.engine.utils import unwrap_model
from gdpseg.engine.work_dir_lock import work_dir_lock
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
    parser.add_argument('--quiet', action='store_true',
                        help='progress bars and warnings only; the full log goes to the work dir')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--debug', action='store_true',
                        help='show the traceback of an error in the config, data or files')
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
        if not torch.cuda.is_available():
            raise ValueError('--amp needs a CUDA GPU (MMEngine\'s AmpOptimWrapper); this '
                             'machine has none: train without --amp')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume:
        cfg.resume = True
        cfg.load_from = resume_checkpoint(cfg.work_dir, None if args.resume == 'auto'
                                          else args.resume)
    check_gdp_cfg(cfg)
    return cfg


def _readable(path):
    try:
        torch.load(path, map_location='cpu', weights_only=True)
        return None
    except Exception as exc:  # noqa: BLE001  (any failure means: do not resume from it)
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def resume_checkpoint(work_dir, explicit=None):
    """The checkpoint to resume from. An explicit one must load; otherwise the newest one of
    the work dir that loads (a save cut short by a crash is skipped, with a warning)."""
    if explicit:
        if not osp.isfile(explicit):
            raise FileNotFoundError(f'--resume {explicit}: no such checkpoint')
        problem = _readable(explicit)
        if problem:
            raise ValueError(f'--resume {explicit}: the file is broken ({problem}); resume from '
                             'an earlier checkpoint of the work dir, or --resume alone to pick '
                             'the newest good one')
        return explicit

    found = work_dir_checkpoints(work_dir)
    problems = {}
    for path in found:
        problems[path] = _readable(path)
        if problems[path] is None:
            if path != found[0]:
                warnings.warn(f'gdpseg: {found[0]} is broken ({problems[found[0]]}); resuming '
                              f'from {path}', stacklevel=2)
            return path
    if found:
        raise ValueError(f'--resume: no checkpoint in {work_dir} can be loaded '
                         f'({", ".join(found)})')
    return None  # nothing to resume: a fresh run, as MMEngine does


def check_gdp_cfg(cfg):
    """A GDP model without GDPHook would train without ever pruning: refuse it."""
    model_type = str(cfg.model.get('type', ''))
    hooks = [str(h.get('type', '')) for h in cfg.get('custom_hooks', [])]
    if model_type.endswith('GDPAlgorithm') and not any(h.endswith('GDPHook') for h in hooks):
        raise ValueError("model is GDPAlgorithm but custom_hooks has no GDPHook: add "
                         "dict(type='GDPHook', lam=..., eps_factor=..., eps_period=...)")
    _check_step_hook(model_type, hooks)
    if cfg.get('load_from') and not cfg.get('resume') and not osp.isfile(cfg.load_from):
        raise FileNotFoundError(f'load_from={cfg.load_from} does not exist: train the baseline '
                                'first or pass --cfg-options load_from=PATH (or None)')


def _check_step_hook(model_type, hooks):
    """A method with a training step (SFP's zeroing, an annealed temperature, ...) needs the
    hook that runs it; without one it would train as a plain network."""
    from gdpseg.engine.hooks import PruningHook
    from gdpseg.models import PruningAlgorithm
    from gdpseg.registry import HOOKS, MODELS
    cls = MODELS.get(model_type) if model_type else None
    if not (isinstance(cls, type) and issubclass(cls, PruningAlgorithm)):
        return
    has_step = any(getattr(cls, name) is not getattr(PruningAlgorithm, name)
                   for name in ('before_train', 'after_step', 'after_epoch', 'after_train'))
    drivers = [HOOKS.get(h) for h in hooks if h]
    if has_step and not any(isinstance(d, type) and issubclass(d, PruningHook)
                            for d in drivers):
        raise ValueError(f"model is {model_type}, whose training has a step of its own, but "
                         "custom_hooks has no hook to run it: add dict(type='PruningHook')")


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = build_cfg(args)
    setup_cpu_distributed(cfg)
    for key in ('train_dataloader', 'val_dataloader'):
        if cfg.get(key):
            check_data(cfg[key])
    if args.quiet:
        quiet_train_cfg(cfg)
    # load_from is read (safely) before anything is built, and must fit the model after
    start = read_state_dict(cfg.load_from, 'load_from') \
        if cfg.get('load_from') and not cfg.get('resume') else None
    with work_dir_lock(cfg.work_dir, args.config), \
            (quiet_stdout() if args.quiet else contextlib.nullcontext()):
        runner = (QuietRunner if args.quiet else Runner).from_cfg(cfg)
        if start is not None:
            check_load_from(runner, cfg.load_from, start)
        final = FinalMetrics()
        runner.register_hook(final, 'LOWEST')
        runner.train()
    if final.metrics:
        print(f'final validation ({final.where}): '
              f'{task_for(runner.model).format_metrics(final.metrics)}')
    return runner


def quiet_train_cfg(cfg):
    """``cfg`` as ``--quiet`` runs it: a progress bar (named GDP for a GDP model)."""
    return quiet_cfg(cfg, 'GDP' if str(cfg.model.get('type', '')).endswith('GDPAlgorithm')
                     else '')


def check_load_from(runner, path, state):
    """``load_from`` loads as strictly as the other tools' checkpoints: a file of another model
    is refused in one line (MMEngine alone would only print that the keys do not match and
    train from random weights). ``state``: the file's :func:`read_state_dict`."""
    try:
        load_weights(unwrap_model(runner.model), path, state, baseline=True)
    except ValueError as exc:
        raise ValueError(f'load_from: {exc}') from None


class FinalMetrics(Hook):
    """Keeps the last validation's metrics, for the line the tool prints at the end."""

    def __init__(self):
        self.metrics, self.where = {}, ''

    def after_val_epoch(self, runner, metrics=None):
        self.metrics = dict(metrics or {})
        self.where = f'after {runner.iter} iterations'
