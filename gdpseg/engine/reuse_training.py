"""Reuse a training stage that another run already trained with the same settings.

A study and its validation twin train the same networks and differ only in what they test on;
so do two studies that share a method's runs. Instead of training a stage again, its work dir
is copied from the other run and the training resumed there (``tools/train.py --resume``): a
finished stage only reloads its last checkpoint. The settings are checked first, on the config
MMEngine dumped into the other stage's work dir against this stage's: they must be equal except
for what only tests (``test_*``), where the run lives (its work dir and paths under it), how
often it saves checkpoints, and the checkpoint a stage starts from (the same file, resolved
through links).
"""
import json
import os.path as osp
import shutil
from typing import Dict, List

# what a training does not depend on: tests, where it runs and what it is called (the names
# are made unique per run), how often it saves checkpoints, and its start checkpoint (compared
# by the file it resolves to)
NOT_TRAINING = ('test_dataloader', 'test_evaluator', 'test_cfg', 'work_dir', 'launcher',
                'resume', 'load_from', 'experiment_name', 'visualizer.name',
                'default_hooks.checkpoint')


def flatten(value, prefix='') -> Dict[str, object]:
    """``{'a.b.0.c': leaf}`` of nested dicts and lists."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {prefix: value}
    out = {}
    for key, v in items:
        out.update(flatten(v, f'{prefix}.{key}' if prefix else str(key)))
    if not out:  # an empty dict or list is a value too
        out[prefix] = type(value)()
    return out


def _normalised(cfg: dict, run: str) -> Dict[str, object]:
    run = osp.abspath(run)
    out = {}
    for key, v in flatten(cfg).items():
        if any(key == k or key.startswith(k + '.') for k in NOT_TRAINING):
            continue
        if isinstance(v, str) and run in v:
            v = v.replace(run, '{run}')
        out[key] = list(v) if isinstance(v, tuple) else v
    return out


def training_differences(src_cfg: dict, src_run: str, cfg: dict, run: str) -> List[str]:
    """The settings in which two stage configs (as dicts) differ for training, each as
    ``'key: theirs != ours'``; paths under each run are compared relative to it, and the
    checkpoints they start from by the file they resolve to."""
    a, b = _normalised(src_cfg, src_run), _normalised(cfg, run)
    diff = [f'{k}: {a.get(k, "(unset)")!r} != {b.get(k, "(unset)")!r}'
            for k in sorted(set(a) | set(b)) if a.get(k, '(unset)') != b.get(k, '(unset)')]
    start = [c.get('load_from') for c in (src_cfg, cfg)]
    if not same_file(*start):
        diff.append(f'load_from: {start[0]!r} != {start[1]!r}')
    return diff


def same_file(a, b) -> bool:
    """Whether two checkpoint settings name the same file (or are both unset)."""
    if not a or not b:
        return not a and not b
    return osp.realpath(a) == osp.realpath(b)


def dumped_config(work: str, config: str) -> str:
    """The config MMEngine dumped into a training's work dir (its file name)."""
    return osp.join(work, osp.basename(config))


def same_export(src_run: str, run: str) -> bool:
    """Whether two runs exported the same plan (``export/plan.json``)."""
    plans = [osp.join(r, 'export', 'plan.json') for r in (src_run, run)]
    if not all(osp.isfile(p) for p in plans):
        return False
    a, b = (_read_json(p) for p in plans)
    return a == b


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def copy_stage(src_work: str, work: str) -> None:
    """Copy a stage's work dir (checkpoints, logs, pictures) and point its ``last_checkpoint``
    at the copy."""
    if osp.exists(work):
        shutil.rmtree(work)
    shutil.copytree(src_work, work, symlinks=True)
    marker = osp.join(work, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            last = f.read().strip()
        with open(marker, 'w') as f:
            f.write(osp.join(osp.abspath(work), osp.basename(last)))
