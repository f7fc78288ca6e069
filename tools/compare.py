"""Compare pruning methods at equal FLOPs: run (or collect) every method of a study at every
ratio and seed, and write a table and a plot with the mean ± std over seeds.

    python tools/compare.py configs/compare/digits_cls.py --jobs 2
    python tools/compare.py configs/compare/digits_cls.py --collect      # tables only
    python tools/compare.py STUDY --only gdp l1 --seeds 0 --ratios 0.5  # a subset
    python tools/compare.py STUDY --iters-scale 10 --jobs 4   # 10x longer runs (a GPU)
    python tools/compare.py STUDY_val.py --baseline-from work_dirs/compare/STUDY  # its baselines
    python tools/compare.py STUDY --rename gdp_p05 gdp  # kept runs of a row renamed in STUDY
    python tools/compare.py STUDY --resume  # runs cut short go on from their checkpoints
    python tools/compare.py STUDY_val.py --baseline-from W --runs-from W  # the twin: tests only

A study file (an MMEngine config) names the work dir, the metric, the seeds and FLOPs ratios, the
baseline's stages and each method's stages: ``dict(train=CONFIG)``, ``dict(prune=CONFIG)`` (the
export of the last checkpoint, or of ``checkpoint``; its FLOPs and its metric before
fine-tuning are recorded), ``dict(search=CONFIG)`` (the width search of a slimmable network at
the ratio, exported as a prune stage; ``args`` for ``tools/search.py``) and
``dict(test=CONFIG, record='gated')``, each with ``options``
(``--cfg-options``). Strings may use ``{work_dir}``, ``{seed}``, ``{ratio}``, ``{run}`` (the
run's directory), ``{baseline}`` (the seed's baseline checkpoint), ``{export}``,
``{resolution}`` (the input side a search stage found; its own test of the export adds the
stage's ``test_options``, formatted once the resolution is known) and a method's
``per_ratio`` values (``per_ratio=dict(res=[28, 24, 20])``: one per study ratio). A prune stage
with ``full_shape=(1, 3, H, W)`` divides its export's FLOPs by the full network's at that input
shape (a method that also lowers the input resolution). The last checkpoint is evaluated at the
end (the metric after fine-tuning).

Each run writes ``result.json`` in ``WORK_DIR/METHOD/r{ratio}_s{seed}/``; a run with a result is
not run again (``--force`` reruns; with ``--only``, the baselines are kept; ``--resume``: the
training stages of a run cut short go on from their newest checkpoints; a run that another
compare is running, e.g. the same command started twice, is left to it and reported); a
baseline whose training validates records its curve (``val_curve``), tabled below the
comparison. The tables go to
``WORK_DIR/comparison.{md,csv}``, the trade-off plot to ``WORK_DIR/comparison.png`` and, per
method with gates (GDP), its loss, FLOPs and gates over every run to ``training_METHOD.png``;
the gated networks' metric against the fine-tuned one, per run, to ``gated_vs_final.png``.
"""
import argparse
import glob
import importlib
import json
import os
import os.path as osp
import subprocess
import sys
import time
import traceback
from contextlib import ExitStack, redirect_stderr, redirect_stdout

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:  # run as a script: the repository's configs and tests resolve
    sys.path.insert(0, ROOT)

REQUIRED = ('work_dir', 'metric', 'seeds', 'ratios', 'baseline', 'methods')


def load_study(path, overrides=None):
    from mmengine.config import Config

    if not osp.isfile(path):
        raise FileNotFoundError(f'no study file at {path}')
    study = Config.fromfile(path)
    missing = [k for k in REQUIRED if k not in study]
    if missing:
        raise ValueError(f'{path} lacks {missing}: a study names work_dir, metric, seeds, '
                         'ratios, baseline (stages) and methods (name, label, stages)')
    names = [m['name'] for m in study.methods]
    if len(set(names)) != len(names):
        raise ValueError(f'{path}: method names repeat: {names}')
    study['file_ratios'] = list(study.ratios)  # what per_ratio values are aligned with
    for key, value in (overrides or {}).items():
        if value is not None:
            study[key] = value
    return study


def study_config(path):
    """A stage's config: as given when it exists from here, else relative to the repository
    (study files name ``configs/...``, so a study runs from any working directory)."""
    if osp.isabs(path) or osp.isfile(path):
        return path
    inside = osp.join(ROOT, path)
    return inside if osp.isfile(inside) else path


def run_dir(study, method, ratio, seed):
    return osp.join(study.work_dir, method, f'r{ratio:g}_s{seed}')


def baseline_dir(study, seed):
    return osp.join(study.work_dir, 'baseline', f's{seed}')


def _last_checkpoint(work):
    marker = osp.join(work, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            path = f.read().strip()
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'training in {work} left no checkpoint (last_checkpoint)')


def _stage_config(config, options):
    """A stage's config with its ``--cfg-options`` applied, as the tools load it."""
    from mmengine.config import DictAction

    from gdpseg.utils import load_config
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return load_config(config, parser.parse_args(_options(options)).cfg_options)


def _max_iters(config, options):
    cfg = _stage_config(config, options)
    loop = cfg.get('train_cfg') or {}
    return int(loop.get('max_iters') or 0)


def scaled_options(config, options, scale: float):
    """``--cfg-options`` that stretch a training stage ``scale`` times: its iterations, its
    iteration-based schedules (``T_max``, ``begin``, ``end``, ``milestones``), its checkpoint and
    validation intervals and GDP's ε period (so ε decays as often per run)."""
    if scale == 1:
        return []
    cfg = _stage_config(config, options)

    def n(value):
        return max(1, round(value * scale))
    out = []
    loop = cfg.get('train_cfg') or {}
    for key in ('max_iters', 'val_interval'):
        if loop.get(key):
            out.append(f'train_cfg.{key}={n(loop[key])}')
    schedulers = cfg.get('param_scheduler') or []
    for i, sch in enumerate([schedulers] if isinstance(schedulers, dict) else schedulers):
        if sch.get('by_epoch', True) is not False:
            continue  # epoch-based: an epoch is the same length whatever the scale
        prefix = 'param_scheduler' if isinstance(schedulers, dict) else f'param_scheduler.{i}'
        for key in ('T_max', 'begin', 'end'):
            if isinstance(sch.get(key), (int, float)) and sch[key] < 10 ** 9:
                out.append(f'{prefix}.{key}={n(sch[key]) if sch[key] else 0}')
        if sch.get('milestones'):
            out.append(f'{prefix}.milestones=[{",".join(str(n(m)) for m in sch.milestones)}]')
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    if checkpoint.get('interval'):
        out.append(f'default_hooks.checkpoint.interval={n(checkpoint["interval"])}')
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        if hook.get('type') == 'GDPHook':
            out.append(f'custom_hooks.{i}.eps_period={n(hook.get("eps_period", 120))}')
    return out


def _options(pairs):
    """``['a.b=1', ...]`` for ``--cfg-options`` (values may hold '=')."""
    return ['--cfg-options', *pairs] if pairs else []


def _full_flops(config, options, shape):
    """conv+linear multiply-adds of the unpruned network of a pruning ``config`` on an input of
    ``shape`` (the counter of every export's FLOPs)."""
    from mmengine.registry import DefaultScope

    from gdpseg.registry import MODELS
    cfg = _stage_config(config, options)
    cfg.model.input_shape = tuple(shape)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'gdpseg')):
        model = MODELS.build(cfg.model)
    return model.channel_groups.full_flops()


def ratio_fields(study, spec, ratio):
    """A method's ``per_ratio`` values at ``ratio`` (one per study ratio), as format fields."""
    table = spec.get('per_ratio') or {}
    if not table:
        return {}
    ratios = [float(r) for r in study.get('file_ratios', study.ratios)]
    if float(ratio) not in ratios:
        raise ValueError(f"method {spec['name']!r} sets per_ratio values for the study's ratios "
                         f'{ratios}; {ratio:g} is not one of them (run it at those ratios)')
    i = ratios.index(float(ratio))
    wrong = [k for k, v in table.items() if len(v) != len(ratios)]
    if wrong:
        raise ValueError(f"method {spec['name']!r}: per_ratio {wrong} must have one value per "
                         f'study ratio ({len(ratios)})')
    return {k: v[i] for k, v in table.items()}


def execute(study, stages, run, fields, seed, ratio, label):
    """Run ``stages`` in this process; return what they recorded. With ``study.resume``, a
    training stage whose work dir holds checkpoints (a run cut short) resumes from the newest
    one instead of starting again; the result lists those stages under ``resumed``."""
    from gdpseg import apis
    from gdpseg.engine.checkpoint import work_dir_checkpoints
    tools = dict(train=apis.train, prune=apis.prune, test=apis.test, search=apis.search)
    common = list(study.get('options', []))
    result = dict(train_iters=0)
    last = last_config = None
    spent = 0.0  # training FLOPs in full-network iterations
    for i, stage in enumerate(stages):
        kinds = [k for k in ('train', 'prune', 'search', 'test') if k in stage]
        if len(kinds) != 1:
            raise ValueError(f'{label}: stage {i} must have exactly one of train / prune / '
                             f'search / test, got {sorted(stage)}')
        kind = kinds[0]
        fields.update(last=last or '')
        config = study_config(stage[kind].format(**fields))
        options = [o.format(**fields) for o in common + list(stage.get('options', []))]
        work = osp.join(run, stage.get('name', f'{i}_{kind}'))
        if kind == 'train':
            options += scaled_options(config, options, study.get('iters_scale', 1))
            resume = []
            if reusable_stage(study, run, work, config, options, bool(fields['export'])):
                resume = ['--resume']
                result.setdefault('reused', []).append(osp.basename(work))
            elif study.get('resume') and work_dir_checkpoints(work):  # a run cut short
                resume = ['--resume']
                result.setdefault('resumed', []).append(osp.basename(work))
            runner = tools['train'].main([config, '--work-dir', work, '--quiet', *resume,
                                          *_options(options)])
            iters = _max_iters(config, options)
            result['train_iters'] += iters
            spent += iters * _stage_cost(runner, result)
            last, last_config = _last_checkpoint(work), (config, options)
            history = osp.join(work, 'gdp_history.json')
            if osp.isfile(history):
                with open(history) as f:
                    h = json.load(f)
                for key in ('zero_share', 'high_share', 'dead_groups'):
                    if h.get(key):
                        result[key] = h[key][-1]
        elif kind in ('prune', 'search'):
            checkpoint = stage.get('checkpoint', '{last}').format(**fields)
            out = osp.join(run, 'export')
            if kind == 'prune':
                info = tools['prune'].main([config, checkpoint, '--out', out, '--no-onnx',
                                            *_options(options)])
            else:  # the width search at the ratio, on the validation split
                info = tools['search'].main([config, checkpoint, '--out', out, '--flops',
                                             str(ratio), *stage.get('args', []),
                                             *_options(options)])
            test_options = options
            if kind == 'search':  # the export's input side: the found resolution, if searched
                fields['resolution'] = info['input_shape'][-1]
                result['resolution'] = fields['resolution']
                test_options = options + [o.format(**fields)
                                          for o in stage.get('test_options', [])]
            flops_ratio = info['flops']['ratio']
            if stage.get('full_shape'):
                flops_ratio = info['flops']['after'] / _full_flops(config, options,
                                                                   stage['full_shape'])
            result.update(flops_ratio=flops_ratio, flops=info['flops']['after'],
                          input_shape=info['input_shape'], params=info['params']['after'],
                          export_difference=info['max_relative_difference_to_gated'])
            fields['export'] = out
            metrics, _ = tools['test'].main([config, out, '--work-dir', work + '_test',
                                             '--quiet', *_options(test_options)])
            result['pruned'] = float(metrics[study.metric])
            last, last_config = None, None  # the export is what later stages train
        else:
            checkpoint = stage.get('checkpoint', '{last}').format(**fields)
            metrics, _ = tools['test'].main([config, checkpoint, '--work-dir', work,
                                             '--quiet', *_options(options)])
            result[stage.get('record', f'test{i}')] = float(metrics[study.metric])
    if last_config is not None:  # the last training: its metric is the final one
        config, options = last_config
        metrics, _ = tools['test'].main([config, last, '--work-dir', osp.join(run, 'final'),
                                         '--quiet', *_options(options)])
        result['final'] = float(metrics[study.metric])
    elif 'pruned' in result:
        result['final'] = result['pruned']
    result['train_flops'] = spent
    return result, last


def _stage_cost(runner, result) -> float:
    """FLOPs of one training iteration of a stage over the full network's: the method's own
    account where it keeps one (a growing network), else the export's share once a stage
    exported (fine-tuning, training from scratch), else 1 (a masked full-width network)."""
    model = getattr(runner, 'model', None)
    own = getattr(getattr(model, 'module', model), 'training_cost', None)
    if callable(own):
        return float(own())
    return float(result.get('flops_ratio', 1.0))


def shared_baseline(study, seed):
    """The checkpoint and result of the seed's baseline in ``study.baseline_from`` (another
    study's work dir), or None when the study trains its own."""
    if not study.get('baseline_from'):
        return None
    src = osp.join(study.baseline_from, 'baseline', f's{seed}')
    checkpoint, result = osp.join(src, 'checkpoint.pth'), osp.join(src, 'result.json')
    if not (osp.isfile(result) and osp.isfile(checkpoint)):
        raise FileNotFoundError(
            f'--baseline-from {study.baseline_from}: no baseline of seed {seed} there '
            f'({result} and {checkpoint}); run that study\'s baseline first (e.g. with '
            '--only and one method), or leave out --baseline-from to train one here')
    with open(result) as f:
        return osp.realpath(checkpoint), json.load(f)


def reusable_stage(study, run, work, config, options, exported=False):
    """With ``study.runs_from`` (another study's work dir), copy this training stage from the
    same run there (method, ratio, seed, stage) into ``work`` when that run finished and trained
    it with the same settings (and, once this run ``exported``, the same export); True when
    copied (the stage then resumes from its checkpoint). A stage it trained with other settings
    is refused, naming them."""
    from mmengine.config import Config

    from gdpseg.apis.train import quiet_train_cfg
    from gdpseg.engine.reuse_training import (copy_stage, dumped_config, same_export,
                                              training_differences)
    if not study.get('runs_from'):
        return False
    src_run = osp.join(study.runs_from, osp.relpath(run, study.work_dir))
    src_work = osp.join(src_run, osp.basename(work))
    if not (osp.isfile(osp.join(src_run, 'result.json')) and osp.isdir(src_work)):
        return False  # not run there (or not finished): trained here
    dumped = dumped_config(src_work, config)
    if not osp.isfile(dumped):
        raise FileNotFoundError(f'--runs-from: {src_work} holds no {osp.basename(config)} '
                                '(the config its training dumped); train the stage here '
                                'instead (leave out --runs-from)')
    cfg = quiet_train_cfg(_stage_config(config, options))  # as the train tool runs it
    diff = training_differences(Config.fromfile(dumped).to_dict(), src_run, cfg.to_dict(), run)
    if exported and not same_export(src_run, run):  # what it trains: this run's export
        diff.append(f'the export it trained ({src_run}/export/plan.json) is another plan')
    if diff:
        raise ValueError(f'--runs-from: {src_work} was trained with other settings than this '
                         f'stage: {"; ".join(diff[:8])}; leave out --runs-from to train it here')
    copy_stage(src_work, work)
    return True


def _baseline_spec(study, seed):
    """The baseline's stages: its training, or with ``baseline_from`` only a test of the shared
    checkpoint on this study's split (the same training: studies that differ in what they
    test on, like a study and its validation twin)."""
    spec = dict(name='baseline', label=study.get('baseline_label', 'baseline'),
                stages=study.baseline)
    shared = shared_baseline(study, seed)
    if shared is not None:
        train = [st for st in study.baseline if 'train' in st][-1]
        spec['stages'] = [dict(test=train['train'], options=list(train.get('options', [])),
                               checkpoint=shared[0], record='final')]
    return spec, shared


BUSY = 3  # a worker's exit status when another process is running its run


class RunBusyError(RuntimeError):
    """Another process is running this run; nothing of it was touched."""


def run_one(study, method, ratio, seed):
    """One method at one ratio and seed (or the baseline, method ``'baseline'``), in this
    process; writes ``result.json`` (or ``error.txt``) in its directory.

    Raises:
        RunBusyError: another compare (this study run twice) holds the run's directory; its
            log, checkpoints and result are left to it.
    """
    shared = None
    if method == 'baseline':
        spec, shared = _baseline_spec(study, seed)
        run, order = baseline_dir(study, seed), -1
    else:
        order, spec = next(((i, m) for i, m in enumerate(study.methods) if m['name'] == method),
                           (None, None))
        if spec is None:
            raise ValueError(f'no method {method!r} in the study: '
                             f'{[m["name"] for m in study.methods]}')
        run = run_dir(study, method, ratio, seed)
    from gdpseg.engine.work_dir_lock import WorkDirBusyError, work_dir_lock

    os.makedirs(run, exist_ok=True)
    with ExitStack() as held:
        try:
            held.enter_context(work_dir_lock(run, f'compare: {method} r={ratio:g} s={seed}'))
        except WorkDirBusyError as exc:
            owner = exc.owner
            raise RunBusyError(
                f'{method} r={ratio:g} s={seed} is already running in {run} (process '
                f'{owner.get("pid", "?")}, started {owner.get("started", "?")}): left to it; '
                'its result joins the table when it ends (run this command again, or with '
                '--collect)') from None
        err = osp.join(run, 'error.txt')  # a stale error of an earlier attempt is not this one's
        if osp.isfile(err):
            os.remove(err)
        return _run_held(study, method, ratio, seed, run, spec, shared, order)


def _run_held(study, method, ratio, seed, run, spec, shared, order):
    """:func:`run_one` with the run's directory held by this process."""
    fields = dict(work_dir=study.work_dir, seed=seed, ratio=ratio, run=run,
                  baseline=osp.join(baseline_dir(study, seed), 'checkpoint.pth'), export='',
                  data_root=study.get('data_root', ''))
    fields.update(ratio_fields(study, spec, ratio))
    start = time.time()
    with open(osp.join(run, 'log.txt'), 'w') as log, redirect_stdout(log), redirect_stderr(log):
        try:
            result, last = execute(study, spec['stages'], run, fields, seed, ratio,
                                   spec['name'])
        except Exception:  # noqa: BLE001  (reported by the parent with the log's path)
            traceback.print_exc()
            with open(osp.join(run, 'error.txt'), 'w') as f:
                f.write(traceback.format_exc())
            return None
    if shared is not None:  # the other study's training, tested here
        last = shared[0]
        iters = shared[1].get('train_iters', 0)
        result.update(train_iters=iters, train_flops=float(shared[1].get('train_cost', iters)),
                      baseline_from=osp.dirname(shared[0]))
    if method == 'baseline':  # its checkpoint under a fixed name, for {baseline}
        from gdpseg.evaluation.comparison import validation_curve
        curve = validation_curve(run, study.metric)  # where its training validated
        if curve:
            result['val_curve'] = curve
        link = fields['baseline']
        if osp.lexists(link):
            os.remove(link)
        os.symlink(osp.abspath(last), link)
        result.update(flops_ratio=1.0)
    # the training's cost in full-network iterations, the shared baseline's included where the
    # method starts from it; and the iterations it spans (what the full network would train)
    span, cost = result.get('train_iters', 0), result.pop('train_flops', 0.0)
    if method != 'baseline' and not spec.get('from_scratch'):
        with open(osp.join(baseline_dir(study, seed), 'result.json')) as f:
            base = json.load(f).get('train_iters', 0)
        span, cost = span + base, cost + base
    if span:
        result.update(train_cost=cost, train_savings=span / cost if cost else None)
    result.update(method=spec['name'], label=spec.get('label', spec['name']), ratio=ratio,
                  seed=seed, order=order, seconds=round(time.time() - start, 1))
    _write_json(osp.join(run, 'result.json'), result)
    return result


def _write_json(path, data):
    """Write ``data`` to ``path`` whole or not at all (a run killed mid-write keeps the old
    file)."""
    with open(path + '.tmp', 'w') as f:
        json.dump(data, f, indent=1)
    os.replace(path + '.tmp', path)


def check_budgets(study):
    """With ``budget = dict(default=N, from_scratch=M)`` in the study, every method's training
    stages must add up to N iterations (M for a method with ``from_scratch=True``): the
    comparison is at equal training. Returns ``{method: iterations}``."""
    ratio = float(study.get('file_ratios', study.ratios)[0])  # a ratio per_ratio values know
    common = list(study.get('options', []))
    iters = {}
    for m in study.methods:
        fields = dict(work_dir=study.work_dir, seed=0, ratio=ratio, run='RUN',
                      data_root=study.get('data_root', ''),
                      baseline='BASE.pth', export='EXPORT', last='LAST.pth', resolution=1,
                      **ratio_fields(study, m, ratio))
        iters[m['name']] = sum(
            _max_iters(study_config(st['train'].format(**fields)),
                       [o.format(**fields) for o in common + list(st.get('options', []))])
            for st in m['stages'] if 'train' in st)
    budget = study.get('budget')
    if budget:
        wrong = {name: (n, budget['from_scratch' if m.get('from_scratch') else 'default'])
                 for (name, n), m in zip(iters.items(), study.methods)
                 if n != budget['from_scratch' if m.get('from_scratch') else 'default']}
        if wrong:
            raise ValueError('unequal training budgets (method: iterations, budget): '
                             + ', '.join(f'{k}: {v[0]} != {v[1]}' for k, v in wrong.items()))
    return iters


def _task_dir(study, task):
    method, ratio, seed = task
    return baseline_dir(study, seed) if method == 'baseline' else run_dir(study, *task)


def tasks_of(study, only=None):
    names = [m['name'] for m in study.methods]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise ValueError(f'unknown methods {unknown}; the study has {names}')
    base = [('baseline', 1.0, s) for s in study.seeds]
    # seed by seed: a study cut short still compares every method on the first seeds
    runs = [(m, float(r), s) for s in study.seeds for r in study.ratios for m in names
            if not only or m in only]
    return base, runs


def run_all(study_path, study, tasks, jobs, threads, force, bar):
    """Run the tasks not done yet: in this process (``jobs=0``) or in ``jobs`` workers."""
    todo = [t for t in tasks if force or not osp.isfile(osp.join(_task_dir(study, t),
                                                                 'result.json'))]
    bar.update(len(tasks) - len(todo))
    failed = []

    def finished(task, busy=None):
        d = _task_dir(study, task)
        if busy:
            failed.append(busy)
        elif not osp.isfile(osp.join(d, 'result.json')):
            failed.append(f'{task[0]} r={task[1]:g} s={task[2]} (see {d}/log.txt)')
        bar.set_postfix_str(f'{task[0]} r={task[1]:g} s={task[2]}')
        bar.update(1)

    if jobs <= 0:
        for task in todo:
            try:
                run_one(study, *task)
            except RunBusyError as exc:
                finished(task, str(exc))
                continue
            finished(task)
        return failed
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    pending, running = list(todo), {}
    while pending or running:
        while pending and len(running) < jobs:
            task = pending.pop(0)
            cmd = [sys.executable, osp.abspath(__file__), study_path, '--worker', task[0],
                   '--worker-ratio', repr(task[1]), '--worker-seed', str(task[2]),
                   '--threads', str(threads), '--work-dir', study.work_dir]
            if study.get('data_root'):
                cmd += ['--data-root', study.data_root]
            if study.get('iters_scale', 1) != 1:
                cmd += ['--iters-scale', repr(study.iters_scale)]
            if study.get('baseline_from'):
                cmd += ['--baseline-from', study.baseline_from]
            if study.get('resume'):
                cmd += ['--resume']
            if study.get('runs_from'):
                cmd += ['--runs-from', study.runs_from]
            running[subprocess.Popen(cmd, env=env, cwd=os.getcwd(),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)] = task
        time.sleep(0.5)
        for proc in [p for p in running if p.poll() is not None]:
            task = running.pop(proc)
            err = proc.stderr.read().decode(errors='replace').strip()
            last = err.splitlines()[-1] if err else ''
            if proc.returncode == BUSY:
                finished(task, last)
                continue
            if proc.returncode and last:
                print(f'\n{task}: {last}', file=sys.stderr)
            finished(task)
    return failed


def report(study, failed=()):
    from gdpseg.evaluation.comparison import (load_results, markdown, summarize,
                                              training_curves, write_csv)
    from gdpseg.visualization import plot_gated_vs_final, plot_tradeoff, plot_training_runs

    rows = load_results(study.work_dir)
    if not rows:
        raise FileNotFoundError(f'no results under {study.work_dir}: run without --collect')
    order = {m['name']: i for i, m in enumerate(study.methods)}
    labels = {m['name']: m.get('label', m['name']) for m in study.methods}
    # the study's labels now (a relabelled method needs no rerun)
    rows = [dict(r, label=labels.get(r['method'], r['label']),
                 order=order.get(r['method'], -1 if r['method'] == 'baseline' else len(order)))
            for r in rows]
    rows.sort(key=lambda r: (r['order'], -r['ratio'], r['seed']))
    summary = summarize(rows)
    label = study.get('metric_label', study.metric)
    title = study.get('title', '')
    text = markdown(summary, rows, label, title, list(failed))
    paths = {ext: osp.join(study.work_dir, f'comparison.{ext}') for ext in ('md', 'csv', 'png')}
    with open(paths['md'], 'w') as f:
        f.write(text)
    write_csv(rows, paths['csv'])
    plot_tradeoff(summary, paths['png'], label, title)
    if any(r.get('gated') is not None for r in rows):  # GDP's runs: gated vs fine-tuned
        paths['gated'] = osp.join(study.work_dir, 'gated_vs_final.png')
        plot_gated_vs_final(rows, paths['gated'], label, title)
    for method in sorted({r['method'] for r in rows} - {'baseline'}):
        runs = [dict(ratio=r['ratio'], seed=r['seed'],
                     curves=training_curves(run_dir(study, method, r['ratio'], r['seed'])))
                for r in rows if r['method'] == method]
        runs = [r for r in runs if r['curves']]
        if runs:  # a gated training (GDP): its loss, FLOPs and gates over the runs
            paths[method] = osp.join(study.work_dir, f'training_{method}.png')
            plot_training_runs(runs, paths[method], f"{labels.get(method, method)}: training "
                               f'over {len(runs)} runs')
    return text, paths


def rename_method(study, old, new):
    """Move the kept runs of method ``old`` to ``new`` (a row renamed in the study file), so
    that they count as ``new``'s without running again.

    Raises:
        ValueError: ``new`` is not a method of the study, or ``new`` already has runs (nothing
            is moved then).
        FileNotFoundError: there are no runs of ``old``.
    """
    names = [m['name'] for m in study.methods]
    if new not in names:
        raise ValueError(f'--rename: {new!r} is not a method of the study ({", ".join(names)}); '
                         'rename the row in the study file first')
    if 'baseline' in (old, new):
        raise ValueError('--rename: the baseline keeps its name')
    src, dst = osp.join(study.work_dir, old), osp.join(study.work_dir, new)
    if not osp.isdir(src):
        raise FileNotFoundError(f'--rename: no runs of {old!r} in {study.work_dir}')
    if osp.exists(dst):
        raise ValueError(f'--rename: {dst} already exists; move it away first (nothing moved)')
    os.rename(src, dst)
    for result in glob.glob(osp.join(dst, '*', 'result.json')):
        with open(result) as f:
            data = json.load(f)
        data['method'] = new
        _write_json(result, data)
    stale = osp.join(study.work_dir, f'training_{old}.png')
    if osp.exists(stale):
        os.remove(stale)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Compare pruning methods at equal FLOPs')
    parser.add_argument('study', help='study file (configs/compare/*.py)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time in worker processes; 0: in this process')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads per worker (default: cores / jobs)')
    parser.add_argument('--only', nargs='+', help='methods to run (default: all)')
    parser.add_argument('--seeds', type=int, nargs='+', help='override the study\'s seeds')
    parser.add_argument('--ratios', type=float, nargs='+', help='override its FLOPs ratios')
    parser.add_argument('--work-dir', help='override its work_dir')
    parser.add_argument('--data-root', help='override its data_root (the {data_root} of its '
                        'options)')
    parser.add_argument('--iters-scale', type=float, default=1.0,
                        help='stretch every training stage this many times (iterations, '
                        'schedules, GDP\'s ε period): a GPU runs the same study longer; the '
                        'results go to WORK_DIR_x{scale} unless --work-dir is given')
    parser.add_argument('--baseline-from', metavar='WORK_DIR',
                        help='take each seed\'s baseline from another study\'s work dir (the '
                        'same training: e.g. a study and its validation twin) and only test it '
                        'here, instead of training it again')
    parser.add_argument('--collect', action='store_true',
                        help='run nothing: tabulate the results there are')
    parser.add_argument('--rename', nargs=2, metavar=('OLD', 'NEW'),
                        help='run nothing: move the kept runs of method OLD to NEW (a row '
                        'renamed in the study file), then tabulate')
    parser.add_argument('--runs-from', metavar='WORK_DIR',
                        help='copy each training stage that the same run (method, ratio, seed) '
                        'of another study\'s work dir trained with the same settings, instead '
                        'of training it again (a study and its validation twin); a stage '
                        'trained with other settings is refused')
    parser.add_argument('--resume', action='store_true',
                        help='a run without a result (cut short) resumes each training stage '
                        'from the newest checkpoint in its work dir, as tools/train.py '
                        '--resume does, instead of training it again')
    parser.add_argument('--force', action='store_true',
                        help='rerun runs that have results (with --only: those methods only, '
                        'not the baselines the other rows started from)')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    parser.add_argument('--worker-ratio', type=float, help=argparse.SUPPRESS)
    parser.add_argument('--worker-seed', type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.resume and args.force:
        raise ValueError('--resume continues runs cut short and --force starts runs again from '
                         'the beginning: pass one of them')
    if args.iters_scale <= 0:
        raise ValueError(f'--iters-scale must be positive, got {args.iters_scale}')
    study = load_study(args.study, dict(seeds=args.seeds, ratios=args.ratios,
                                        work_dir=args.work_dir, data_root=args.data_root,
                                        baseline_from=args.baseline_from,
                                        resume=args.resume or None,
                                        runs_from=args.runs_from))
    if args.iters_scale != 1:  # never mixed with the runs of another length
        study.iters_scale = args.iters_scale
        if not args.work_dir:
            study.work_dir = f'{study.work_dir}_x{args.iters_scale:g}'
    if args.worker:
        import torch

        from gdpseg.utils import register_all_modules
        torch.set_num_threads(max(1, args.threads or 1))
        register_all_modules(init_default_scope=False)
        try:
            return 0 if run_one(study, args.worker, args.worker_ratio, args.worker_seed) else 1
        except RunBusyError as exc:
            print(exc, file=sys.stderr)
            return BUSY
    from tqdm import tqdm

    from gdpseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    os.makedirs(study.work_dir, exist_ok=True)
    failed = []
    if args.rename:
        rename_method(study, *args.rename)
    elif not args.collect:
        check_budgets(study)
        for step in study.get('setup', []):  # e.g. make the data set (skipped when done)
            step = {k: v.format(work_dir=study.work_dir, data_root=study.get('data_root', ''))
                    if isinstance(v, str) else v for k, v in step.items()}
            module, _, fn = step.pop('call').rpartition('.')
            if not osp.exists(step.get('root', '')):
                getattr(importlib.import_module(module), fn)(**step)
        base, runs = tasks_of(study, args.only)
        for _, _, seed in base:  # a shared baseline that is not there: said before any run
            shared_baseline(study, seed)
        threads = args.threads or max(1, (os.cpu_count() or 1) // max(1, args.jobs))
        with tqdm(total=len(base) + len(runs), desc='compare', unit='run',
                  dynamic_ncols=True) as bar:
            # every method's rows start from the baselines: --force with --only reruns the
            # methods only (a retrained baseline is not bitwise the same on every machine)
            failed += run_all(args.study, study, base, args.jobs, threads,
                              args.force and not args.only, bar)
            if failed:
                raise RuntimeError('the baseline failed: ' + '; '.join(failed))
            failed += run_all(args.study, study, runs, args.jobs, threads, args.force, bar)
    text, paths = report(study, failed)
    print(text)
    print('wrote ' + ', '.join(paths.values()))
    return 1 if failed else 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        sys.exit(f'error: {exc}')
