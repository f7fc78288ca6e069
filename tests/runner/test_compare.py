"""tools/compare.py: a study of two methods on a tiny classifier, run, tabulated and plotted."""
import csv
import os.path as osp

import pytest

from gdpseg.evaluation.comparison import (markdown, mean_std, pearson, separation, summarize,
                                          training_curves, winners)

from .test_other_task import BASELINE
from .test_runner import ROOT, _tool

METHODS = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='{type}', architecture=_base_.model,
             input_shape=(1, 3, 32, 32), forward_mode='tensor', {extra})
"""
FINETUNE = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='PrunedModel', plan='')
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2))
"""
GDP_HOOKS = """
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=1.0))
custom_hooks = [dict(type='GDPHook', lam=dict(type='TargetLambda', ratio=0.5, ramp=0.5),
                     eps_factor=0.9, eps_period=1),
                dict(type='GDPVisualHook', interval=1)]
load_from = None
"""
STUDY = """
title = 'tiny'
work_dir = '{work}'
metric = 'accuracy'
seeds = [0, 1]
ratios = [0.5]
options = ['randomness.seed={{seed}}']
baseline = [dict(train='{d}/baseline.py')]
methods = [
    dict(name='gdp', label='GDP', stages=[
        dict(train='{d}/gdp.py', options=['load_from={{baseline}}',
                                          'custom_hooks.0.lam.ratio={{ratio}}']),
        dict(test='{d}/gdp.py', record='gated'),
        dict(prune='{d}/gdp.py'),
        dict(train='{d}/finetune.py', options=['model.plan={{export}}/plan.json'])]),
    dict(name='l1', label='L1', stages=[
        dict(prune='{d}/l1.py', checkpoint='{{baseline}}', options=['model.ratio={{ratio}}']),
        dict(train='{d}/finetune.py', options=['model.plan={{export}}/plan.json',
                                               'train_cfg.max_iters=6'])]),
    dict(name='broken', label='broken', stages=[dict(prune='{d}/missing.py')]),
    dict(name='search', label='width search', stages=[
        dict(train='{d}/slim.py', options=['load_from={{baseline}}']),
        dict(search='{d}/slim.py', args=['--batches', '1', '--step', '0.5'])]),
    dict(name='search_res', label='width and resolution search', stages=[
        dict(train='{d}/slim.py', options=['load_from={{baseline}}', 'model.resolutions=[24,32]']),
        dict(search='{d}/slim.py', args=['--batches', '1', '--step', '0.5'],
             options=['model.resolutions=[24,32]'],
             test_options=['test_dataloader.dataset.size={{resolution}}']),
        dict(train='{d}/finetune.py', options=[
            'model.plan={{export}}/plan.json', 'test_dataloader.dataset.size={{resolution}}',
            'train_dataloader.dataset.size={{resolution}}'])]),
    dict(name='res', label='width x resolution', per_ratio=dict(res=[24], width=[0.8]),
         stages=[dict(prune='{d}/l1.py', checkpoint='{{baseline}}', full_shape=(1, 3, 32, 32),
                      options=['model.ratio={{width}}',
                               'model.input_shape=(1,3,{{res}},{{res}})'])]),
]
"""


@pytest.fixture
def study(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    d = tmp_path / 'cfg'
    d.mkdir()
    (d / 'baseline.py').write_text(BASELINE)
    (d / 'gdp.py').write_text(METHODS.format(type='GDPAlgorithm', extra='') + GDP_HOOKS)
    (d / 'l1.py').write_text(METHODS.format(type='OneShotPruning', extra="ratio=0.5"))
    (d / 'finetune.py').write_text(FINETUNE)
    (d / 'slim.py').write_text(METHODS.format(type='SlimmableNetwork', extra='num_random=1') +
                               "custom_hooks = [dict(type='PruningHook')]\n")
    path = tmp_path / 'study.py'
    path.write_text(STUDY.format(work=tmp_path / 'work', d=d))
    return path, tmp_path / 'work'


@pytest.mark.slow
def test_compare_runs_a_study_and_writes_table_and_plot(study):
    path, work = study
    compare = _tool('compare')
    code = compare.main([str(path), '--jobs', '0', '--only', 'gdp', 'l1'])
    assert code == 0
    rows = list(csv.DictReader(open(work / 'comparison.csv')))
    assert sorted((r['method'], r['seed']) for r in rows) == [
        ('baseline', '0'), ('baseline', '1'), ('gdp', '0'), ('gdp', '1'),
        ('l1', '0'), ('l1', '1')]
    by = {(r['method'], r['seed']): r for r in rows}
    for seed in '01':
        gdp, l1 = by[('gdp', seed)], by[('l1', seed)]
        assert float(gdp['gated']) == float(gdp['pruned'])  # the export is the gated network
        assert float(l1['flops_ratio']) <= 0.5
        assert int(float(l1['train_iters'])) == 6 and int(float(gdp['train_iters'])) == 6
        assert 0 <= float(gdp['zero_share']) <= 1
        assert float(gdp['final']) >= 0 and by[('baseline', seed)]['final']
        # training cost in full-network iterations, the shared baseline's included: GDP
        # trains the masked full network 4 iterations and fine-tunes its export 2; L1 only
        # fine-tunes its export, 6
        base = float(by[('baseline', seed)]['train_iters'])
        assert float(by[('baseline', seed)]['train_cost']) == base
        ft = float(gdp['flops_ratio'])
        assert float(gdp['train_cost']) == pytest.approx(base + 4 + 2 * ft)
        assert float(l1['train_cost']) == pytest.approx(base + 6 * float(l1['flops_ratio']))
        assert float(l1['train_savings']) == pytest.approx((base + 6) / float(l1['train_cost']))
    text = (work / 'comparison.md').read_text()
    assert '| GDP | 50 % |' in text and '| L1 | 50 % |' in text and '50 %: **' in text
    assert 'training cost (full-network iterations; savings)' in text
    assert 'Gated network vs its export before fine-tuning, 2 runs: largest difference 0.0000' \
        in text
    assert (work / 'comparison.png').stat().st_size > 0
    assert (work / 'gated_vs_final.png').stat().st_size > 0  # GDP's runs (paper Fig. 10)
    # GDP's training over both seeds (Fig. 11 over runs); L1 has no gates, so no figure
    assert (work / 'training_gdp.png').stat().st_size > 0
    assert not (work / 'training_l1.png').exists()
    curves = training_curves(str(work / 'gdp' / 'r0.5_s0'))
    assert curves['iter'] == sorted(curves['iter']) and len(curves['iter']) >= 1
    assert all(0 < f <= 1 for f in curves['flops_ratio'])
    # results are kept: collecting runs nothing and writes the same table
    assert compare.main([str(path), '--collect']) == 0
    assert (work / 'comparison.md').read_text() == text
    # ... and takes the labels from the study as it is now
    path.write_text(path.read_text().replace("label='L1'", "label='L1 filters'"))
    assert compare.main([str(path), '--collect']) == 0
    assert '| L1 filters | 50 % |' in (work / 'comparison.md').read_text()
    path.write_text(path.read_text().replace("label='L1 filters'", "label='L1'"))
    # a method that fails is named, with its log, and the others are still tabulated
    assert compare.main([str(path), '--jobs', '0', '--only', 'broken', '--seeds', '0']) == 1
    assert (work / 'broken' / 'r0.5_s0' / 'error.txt').is_file()
    assert 'runs failed and are not in the table: broken r=0.5 s=0' in \
        (work / 'comparison.md').read_text()
    with pytest.raises(ValueError, match="unknown methods \\['nope'\\]"):
        compare.main([str(path), '--only', 'nope'])
    # --force with --only reruns that method, not the baselines the other rows started from
    base = work / 'baseline' / 's0' / 'result.json'
    l1 = work / 'l1' / 'r0.5_s0' / 'result.json'
    before = (base.stat().st_mtime_ns, l1.stat().st_mtime_ns)
    assert compare.main([str(path), '--jobs', '0', '--only', 'l1', '--seeds', '0',
                         '--force']) == 0
    assert base.stat().st_mtime_ns == before[0]
    assert l1.stat().st_mtime_ns != before[1]
    # a search stage exports the widths found at the ratio; the sandwich's training cost is
    # every subnet's forward and backward pass (full + smallest + one random per iteration)
    assert compare.main([str(path), '--jobs', '0', '--only', 'search', '--seeds', '0']) == 0
    import json
    found = json.load(open(work / 'search' / 'r0.5_s0' / 'result.json'))
    assert found['flops_ratio'] <= 0.5 and found['export_difference'] < 1e-5
    base_iters = json.load(open(base))['train_iters']
    assert found['train_cost'] - base_iters > 1.25 * found['train_iters']
    # a search over the input resolution too: later stages (and the search's own test of the
    # export) run at the resolution it found, and the FLOPs are against the full network
    assert compare.main([str(path), '--jobs', '0', '--only', 'search_res', '--seeds', '0']) == 0
    run = work / 'search_res' / 'r0.5_s0'
    found = json.load(open(run / 'result.json'))
    side = json.load(open(run / 'export' / 'search.json'))['resolution']
    assert side in (24, 32) and found['resolution'] == side
    assert found['input_shape'] == [1, 3, side, side] and found['flops_ratio'] <= 0.5
    for stage in ('1_search_test', '2_train'):
        dumped = next((run / stage).rglob('*.py')).read_text()
        assert f'size={side}' in dumped.replace(' ', '')
    # per-ratio values fill a method's options; a lower input resolution's export is divided
    # by the full network's FLOPs at full_shape
    assert compare.main([str(path), '--jobs', '0', '--only', 'res', '--seeds', '0']) == 0
    import json
    res = json.load(open(work / 'res' / 'r0.5_s0' / 'result.json'))
    assert res['input_shape'] == [1, 3, 24, 24]
    full = compare._full_flops(str(path.parent / 'cfg' / 'l1.py'), [], (1, 3, 32, 32))
    assert res['flops_ratio'] == pytest.approx(res['flops'] / full)
    assert res['flops_ratio'] <= 0.8 * (24 / 32) ** 2 + 1e-3
    with pytest.raises(ValueError, match='per_ratio values.*0.3 is not one of them'):
        compare.main([str(path), '--jobs', '0', '--only', 'res', '--ratios', '0.3'])
    # ... and other ratios still run the methods without per-ratio values
    assert compare.main([str(path), '--jobs', '0', '--only', 'broken', '--ratios', '0.3',
                         '--seeds', '0']) == 1
    assert (work / 'broken' / 'r0.3_s0' / 'error.txt').is_file()


def test_statistics_and_winners():
    assert mean_std([1.0, 3.0]) == (2.0, pytest.approx(2 ** 0.5))
    assert mean_std([5.0]) == (5.0, 0.0) and mean_std([]) == (None, None)
    assert pearson([1, 2, 3], [2, 4, 6.5]) == pytest.approx(0.9986, abs=1e-3)
    assert pearson([1, 2], [1, 2]) is None
    rows = [dict(method=m, label=m, ratio=0.5, seed=s, order=o, final=v, flops_ratio=0.5)
            for m, o, vals in (('a', 0, (90, 92)), ('b', 1, (80, 81)), ('c', 2, (91.5, 91.5)))
            for s, v in enumerate(vals)]
    w = winners(summarize(rows))[0.5]
    assert w['best'] == 'c' and w['tied'] == ['a']  # a is within a's own std; b is not
    # b is more than two stds below c: the study separates them; one seed cannot tell
    a = separation(summarize(rows))[0.5]
    assert (a['best'], a['worst'], a['separated']) == ('c', 'b', True)
    assert a['gap'] == pytest.approx(91.5 - 80.5)
    close = [dict(r, final=r['final'] if r['method'] != 'b' else 90.0 + r['seed'])
             for r in rows]
    assert separation(summarize(close))[0.5]['separated'] is False
    one = [r for r in rows if r['seed'] == 0]
    assert separation(summarize(one))[0.5]['separated'] is None
    assert '- 50 %: yes (c − b = 11.00' in markdown(summarize(rows), rows, 'top-1')
    assert '- 50 %: cannot tell: one seed' in markdown(summarize(one), one, 'top-1')
    # a run that missed its FLOPs budget is named under the table
    rows[0]['flops_ratio'] = 0.3
    text = markdown(summarize(rows), rows, 'top-1')
    assert '1 runs ended more than 5 points below' in text and 'a r=0.5 s=0: 30.0 %' in text


def test_training_curves_merge_a_resumed_run_and_skip_other_logs(tmp_path):
    import json
    assert training_curves(str(tmp_path)) is None
    first = tmp_path / 'gdp' / '20260101_000000' / 'vis_data'
    later = tmp_path / 'gdp' / '20260101_010000' / 'vis_data'
    other = tmp_path / 'final' / '20260101_020000' / 'vis_data'
    for d in (first, later, other):
        d.mkdir(parents=True)

    def entry(it, loss):
        return json.dumps(dict(iter=it, loss=loss, gdp_flops_ratio=1 - it / 100,
                               gdp_target=0.5, gdp_zero_share=it / 100, gdp_high_share=0.1))
    (first / 'scalars.json').write_text('\n'.join([entry(10, 1.0), entry(20, 0.9),
                                                   '{"iter": 30, "lo']))  # cut off
    (later / 'scalars.json').write_text('\n'.join([entry(20, 0.8), entry(30, 0.7)]))
    (other / 'scalars.json').write_text(json.dumps(dict(iter=5, loss=3.0)))  # no gates
    c = training_curves(str(tmp_path))
    assert c['iter'] == [10, 20, 30] and c['loss'] == [1.0, 0.8, 0.7]
    assert c['flops_ratio'] == [0.9, 0.8, 0.7] and c['zero_share'] == [0.1, 0.2, 0.3]


@pytest.mark.parametrize('name', ['digits_cls', 'digits_seg', 'fashion_cls', 'fashion_cls_val',
                                  'fashion_lite0', 'fashion_lite0_val', 'fashion_seg',
                                  'fashion_seg_val'])
def test_shipped_studies_give_every_method_the_same_training(name):
    from gdpseg.utils import register_all_modules
    register_all_modules()
    compare = _tool('compare')
    study = compare.load_study(str(ROOT / 'configs' / 'compare' / f'{name}.py'))
    iters = compare.check_budgets(study)
    assert len(iters) == len(study.methods) >= 4
    assert {n for m, n in zip(study.methods, iters.values()) if not m.get('from_scratch')} == \
        {study.budget['default']}
    # one iteration more for one method is refused, by name
    study.methods[0]['stages'][-1].setdefault('options', []).append('train_cfg.max_iters=1')
    with pytest.raises(ValueError, match=f"unequal training budgets.*{study.methods[0]['name']}"):
        compare.check_budgets(study)


def test_iters_scale_stretches_every_training_stage_and_keeps_its_own_work_dir(tmp_path):
    from gdpseg.utils import register_all_modules
    register_all_modules()
    compare = _tool('compare')
    config = str(ROOT / 'configs' / 'fashion' / 'resnet20_fmnist_gdp.py')
    options = ['train_cfg.max_iters=500', 'param_scheduler.0.T_max=500',
               'default_hooks.checkpoint.interval=500', 'custom_hooks.0.eps_period=25']
    assert compare.scaled_options(config, options, 1) == []
    scaled = compare.scaled_options(config, options, 4)
    assert {'train_cfg.max_iters=2000', 'param_scheduler.0.T_max=2000',
            'default_hooks.checkpoint.interval=2000', 'custom_hooks.0.eps_period=100'} <= \
        set(scaled)
    assert compare._max_iters(config, options + scaled) == 2000
    # a poly schedule's end and a baseline's own length (no options) stretch too
    seg = str(ROOT / 'configs' / 'fashion' / 'deeplabv3plus_r18_fscenes_baseline.py')
    assert {'train_cfg.max_iters=30000', 'param_scheduler.0.end=30000',
            'param_scheduler.0.begin=0'} <= set(compare.scaled_options(seg, [], 10))
    study = tmp_path / 'study.py'
    study.write_text(f"_base_ = ['{ROOT / 'configs' / 'compare' / 'fashion_cls.py'}']\n"
                     f"work_dir = '{tmp_path / 'w'}'\n")
    with pytest.raises(FileNotFoundError, match='w_x2'):  # never mixed with the 1x runs
        compare.main([str(study), '--collect', '--iters-scale', '2'])
    assert (tmp_path / 'w_x2').is_dir() and not (tmp_path / 'w').exists()
    with pytest.raises(ValueError, match='positive'):
        compare.main([str(study), '--collect', '--iters-scale', '0'])


def test_gated_against_fine_tuned_plot_takes_only_runs_with_both(tmp_path):
    from gdpseg.visualization import plot_gated_vs_final
    rows = [dict(method='gdp', label='GDP', ratio=r, seed=s, gated=80 + 10 * r + s,
                 final=85 + 8 * r + s) for r in (0.5, 0.25) for s in (0, 1)]
    rows += [dict(method='l1', label='L1', ratio=0.5, seed=0, gated=None, final=90.0),
             dict(method='gdp', label='GDP', ratio=0.1, seed=0, gated=70.0, final=None)]
    image = plot_gated_vs_final(rows, str(tmp_path / 'g.png'), 'top-1')
    assert (tmp_path / 'g.png').stat().st_size > 0 and image.ndim == 3 and image.shape[2] == 3


@pytest.mark.parametrize('fontsize', [None, 9])
def test_a_long_title_is_wrapped_inside_the_picture(fontsize):
    from gdpseg.visualization.plots import _pyplot, set_title
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    title = ('Fashion scenes (semi-synthetic: real garments on crops of real photographs), '
             'DeepLabV3+ R18, mIoU on the 300 validation canvases, tempered thresholds')
    set_title(ax, title, fontsize)
    fig.tight_layout()
    fig.canvas.draw()
    box = ax.title.get_window_extent()
    assert 0 <= box.x0 and box.x1 <= fig.bbox.x1 and box.y1 <= fig.bbox.y1
    assert '\n' in ax.title.get_text() and ax.title.get_text().replace('\n', ' ') == title
    plt.close(fig)


@pytest.mark.slow
def test_a_twin_study_tests_the_shared_baseline_and_runs_instead_of_training_them(study,
                                                                                  tmp_path):
    import json
    import os
    path, work = study
    compare = _tool('compare')
    src = compare.load_study(str(path))
    src.seeds = [0]
    assert compare.run_one(src, 'baseline', 1.0, 0) is not None
    twin_dir = tmp_path / 'twin'
    twin = compare.load_study(str(path), dict(work_dir=str(twin_dir),
                                              baseline_from=str(work)))
    twin.options = list(twin.options) + ['test_dataloader.dataset.num=16']  # its own split
    result = compare.run_one(twin, 'baseline', 1.0, 0)
    base = json.load(open(work / 'baseline' / 's0' / 'result.json'))
    assert result is not None and 0 <= result['final'] <= 100
    assert result['train_iters'] == base['train_iters'] == 4  # the source's training, counted
    assert result['train_cost'] == base['train_cost'] == 4
    assert not list((twin_dir / 'baseline' / 's0').rglob('iter_*.pth'))  # nothing trained here
    assert os.path.realpath(twin_dir / 'baseline' / 's0' / 'checkpoint.pth') == \
        os.path.realpath(work / 'baseline' / 's0' / 'checkpoint.pth')
    # a method of the twin starts from it and, with runs_from (--runs-from), copies each
    # training stage of the same run there instead of training it again (the copied
    # checkpoints keep their times), then tests on its own split
    first = compare.run_one(src, 'gdp', 0.5, 0)
    twin.runs_from = str(work)
    result = compare.run_one(twin, 'gdp', 0.5, 0)
    assert result is not None and result['reused'] == ['0_train', '3_train']
    assert result['train_iters'] == first['train_iters']
    assert result['train_cost'] == pytest.approx(first['train_cost'])
    assert result['flops_ratio'] == first['flops_ratio']
    for stage in ('0_train', '3_train'):
        theirs = sorted((work / 'gdp' / 'r0.5_s0' / stage).glob('iter_*.pth'))
        ours = sorted((twin_dir / 'gdp' / 'r0.5_s0' / stage).glob('iter_*.pth'))
        assert [p.name for p in ours] == [p.name for p in theirs] and ours
        for a, b in zip(theirs, ours):  # copied, not trained again
            assert a.read_bytes() == b.read_bytes()
            assert a.stat().st_mtime_ns == b.stat().st_mtime_ns
    assert json.load(open(twin_dir / 'gdp' / 'r0.5_s0' / 'export' / 'plan.json')) == \
        json.load(open(work / 'gdp' / 'r0.5_s0' / 'export' / 'plan.json'))
    # a run the other study has not finished is trained here
    run = twin_dir / 'l1' / 'r0.5_s0'
    assert not compare.reusable_stage(twin, str(run), str(run / '1_train'), 'finetune.py', [])
    # a twin that trains with another learning rate does not take the other study's stage
    other = compare.load_study(str(path), dict(work_dir=str(tmp_path / 'other'),
                                               baseline_from=str(work), runs_from=str(work)))
    other.options = list(other.options) + ['optim_wrapper.optimizer.lr=0.01']
    assert compare.run_one(other, 'gdp', 0.5, 0) is None
    error = (tmp_path / 'other' / 'gdp' / 'r0.5_s0' / 'error.txt').read_text()
    assert '--runs-from' in error and 'optim_wrapper.optimizer.lr: 0.05 != 0.01' in error
    # a seed the source has not trained is refused before anything runs, by its path
    with pytest.raises(FileNotFoundError, match=r'no baseline of seed 1 .*s1'):
        compare.main([str(path), '--work-dir', str(tmp_path / 'twin2'), '--only', 'l1',
                      '--baseline-from', str(work), '--jobs', '0'])
    assert not (tmp_path / 'twin2' / 'baseline').exists()


def test_the_validation_twin_finds_its_base_methods_by_name():
    compare = _tool('compare')
    twin = compare.load_study(str(ROOT / 'configs' / 'compare' / 'fashion_cls_val.py'))
    base = compare.load_study(str(ROOT / 'configs' / 'compare' / 'fashion_cls.py'))
    names = [m['name'] for m in twin.methods]
    assert [n for n in names if n != 'gdp_glr10'] == [m['name'] for m in base.methods]
    at = names.index('gdp_glr10')
    assert names[at - 1] == 'gdp_glr'
    glr, glr10 = twin.methods[at - 1]['stages'], twin.methods[at]['stages']
    assert 'optim_wrapper.paramwise_cfg.gate_lr_mult=10' in glr10[0]['options']
    assert [o for o in glr10[0]['options'] if 'gate_lr_mult' not in o] == \
        [o for o in glr[0]['options'] if 'gate_lr_mult' not in o] and glr10[1:] == glr[1:]
    # the tempered-threshold row is the default with p = 0.5 and nothing else changed
    rows = {m['name']: m['stages'] for m in twin.methods}
    default, tempered = rows['gdp_500'], rows['gdp_500_p05']
    assert tempered[0]['options'] == default[0]['options'] + ['model.cost_exponent=0.5']
    assert tempered[1:] == default[1:] and len(default) == 4


def test_a_baseline_that_validates_records_and_tables_its_curve(study):
    path, work = study
    compare = _tool('compare')
    s = compare.load_study(str(path))
    s.seeds = [0]
    # validation logged by iteration, as the study configs log it
    s.baseline = [dict(s.baseline[0], options=['train_cfg.val_interval=2',
                                               'default_hooks.logger.log_metric_by_epoch=False'])]
    result = compare.run_one(s, 'baseline', 1.0, 0)
    assert [step for step, _ in result['val_curve']] == [2, 4]
    assert all(0 <= v <= 100 for _, v in result['val_curve'])
    text, _ = compare.report(s)
    assert "The baselines' training" in text and '| 0 | ' in text
    assert f"Last interval: {result['val_curve'][1][1] - result['val_curve'][0][1]:+.2f}" in text


def test_curve_lines_compare_the_last_interval_with_the_seeds_spread():
    from gdpseg.evaluation.comparison import curve_lines
    rows = [dict(method='baseline', seed=0, final=93.0, val_curve=[[500, 90.0], [1000, 92.5]]),
            dict(method='baseline', seed=1, final=93.2, val_curve=[[500, 91.0], [1000, 92.0]]),
            dict(method='l1', seed=0, final=92.0)]
    text = '\n'.join(curve_lines(rows, 'top-1 (%)'))
    assert '| 0 | 90.00 | 92.50 |' in text and '| 1 | 91.00 | 92.00 |' in text
    assert 'Last interval: +2.50, +1.00' in text and 'varies by 0.14' in text
    assert curve_lines([dict(method='baseline', seed=0, final=1.0)], 'x') == []


def test_the_fashion_search_spaces_reach_every_ratio_of_their_study():
    """The greedy search refuses a budget under its space's smallest subnet: each search row
    of the Fashion study must be able to run at every ratio (the width space at a quarter of
    every group needed 25.3 % of the FLOPs, over the 25 % and 10 % budgets)."""
    from mmengine.config import Config

    from gdpseg.registry import MODELS
    from gdpseg.utils import register_all_modules
    register_all_modules()
    study = _tool('compare').load_study(str(ROOT / 'configs' / 'compare' / 'fashion_cls.py'))
    configs = {stage['search'] for m in study.methods for stage in m['stages']
               if 'search' in stage}
    assert len(configs) == 2
    for config in sorted(configs):
        model = MODELS.build(Config.fromfile(str(ROOT / config)).model)
        sizes = list(getattr(model, 'resolutions', None) or [None])
        least = model.flops_ratio(model.smallest_widths(), sizes[0])
        assert least <= min(study.ratios), (config, least)


def test_rename_moves_a_renamed_rows_runs_and_refuses_to_overwrite(study):
    """A row renamed in the study file keeps its runs: --rename moves them (and their
    ``method``), then tabulates them under the study's label; it never overwrites runs."""
    import json
    path, work = study
    compare = _tool('compare')

    def fake(method, name, final):
        run = work / name / 'r0.5_s0'
        run.mkdir(parents=True)
        ratio = 1.0 if method == 'baseline' else 0.5
        (run / 'result.json').write_text(json.dumps(dict(
            method=method, label=method, ratio=ratio, seed=0, order=0, final=final,
            flops_ratio=ratio, train_iters=4)))

    fake('baseline', 'baseline', 90.0)
    fake('l1_old', 'l1_old', 80.0)
    fake('gdp', 'gdp', 85.0)
    with pytest.raises(ValueError, match="'l1_new' is not a method"):
        compare.main([str(path), '--rename', 'l1_old', 'l1_new'])
    with pytest.raises(ValueError, match='already exists'):
        compare.main([str(path), '--rename', 'l1_old', 'gdp'])
    with pytest.raises(FileNotFoundError, match="no runs of 'nothing'"):
        compare.main([str(path), '--rename', 'nothing', 'l1'])
    assert json.loads((work / 'gdp' / 'r0.5_s0' / 'result.json').read_text())['final'] == 85.0
    assert compare.main([str(path), '--rename', 'l1_old', 'l1']) == 0
    assert not (work / 'l1_old').exists()
    moved = json.loads((work / 'l1' / 'r0.5_s0' / 'result.json').read_text())
    assert moved['method'] == 'l1' and moved['final'] == 80.0
    assert '| L1 | 50 % |' in (work / 'comparison.md').read_text()


@pytest.mark.slow
def test_resume_continues_a_run_cut_short_to_the_same_weights(study):
    """``--resume``: a run killed mid-training (its last checkpoint removed, no result) goes on
    from the newest checkpoint left and ends with the weights of the run never cut short."""
    import json
    import os

    import torch
    path, work = study
    compare = _tool('compare')
    s = compare.load_study(str(path))
    s.options = list(s.options) + ['default_hooks.checkpoint.interval=2']
    assert compare.run_one(s, 'baseline', 1.0, 0) is not None
    run = work / 'baseline' / 's0'
    stage = run / '0_train'
    whole = torch.load(stage / 'iter_4.pth', map_location='cpu', weights_only=False)
    first = json.load(open(run / 'result.json'))
    # killed after iteration 2: no result, no checkpoint of iteration 4
    os.remove(run / 'result.json')
    os.remove(stage / 'iter_4.pth')
    (stage / 'last_checkpoint').write_text(str(stage / 'iter_2.pth'))
    kept = (stage / 'iter_2.pth').stat().st_mtime_ns
    s.resume = True
    again = compare.run_one(s, 'baseline', 1.0, 0)
    assert again['resumed'] == ['0_train'] and 'resumed' not in first
    resumed = torch.load(stage / 'iter_4.pth', map_location='cpu', weights_only=False)
    assert resumed['meta']['iter'] == 4
    assert (stage / 'iter_2.pth').stat().st_mtime_ns == kept  # iterations 1-2 not run again
    for key, value in whole['state_dict'].items():
        assert torch.equal(resumed['state_dict'][key], value), key
    assert again['final'] == first['final'] and again['train_iters'] == first['train_iters']
    # continuing and starting again exclude each other
    with pytest.raises(ValueError, match='--resume .* --force'):
        compare.main([str(path), '--resume', '--force', '--jobs', '0'])


def test_reusing_a_stage_ignores_how_often_it_saved_checkpoints_but_not_how_it_trained(tmp_path):
    from gdpseg.engine.reuse_training import training_differences
    theirs, ours = str(tmp_path / 'a'), str(tmp_path / 'b')

    def cfg(run, interval, lr):
        return dict(work_dir=run, optim_wrapper=dict(optimizer=dict(lr=lr)),
                    default_hooks=dict(checkpoint=dict(interval=interval, max_keep_ckpts=2)),
                    train_cfg=dict(max_iters=6000), model=dict(plan=f'{run}/export/plan.json'))
    assert training_differences(cfg(theirs, 6000, 0.1), theirs, cfg(ours, 1000, 0.1), ours) == []
    assert training_differences(cfg(theirs, 6000, 0.1), theirs, cfg(ours, 1000, 0.2), ours) == \
        ['optim_wrapper.optimizer.lr: 0.1 != 0.2']


@pytest.mark.parametrize('name', ['fashion_cls', 'fashion_lite0', 'fashion_seg'])
def test_real_data_studies_save_a_checkpoint_at_least_every_1000_iterations(name):
    """A study run cut short (a killed job) resumes from its stage's newest checkpoint
    (``--resume``), so no training stage of the real-data studies saves only at its end."""
    compare = _tool('compare')
    study = compare.load_study(osp.join(ROOT, 'configs', 'compare', f'{name}.py'))
    stages = [s for m in study.methods for s in m['stages'] if 'train' in s]
    assert stages and 'train' in study.baseline[0]
    for stage in stages + list(study.baseline):
        options = dict(o.split('=', 1) for o in stage.get('options', []))
        iters = int(options.get('train_cfg.max_iters', 1000))
        assert int(options['default_hooks.checkpoint.interval']) <= min(iters, 1000), stage


@pytest.mark.parametrize('jobs', ['0', '1'])
def test_a_run_another_compare_is_running_is_left_to_it(study, jobs):
    """The same study started twice: the second compare reports the run the first is running
    and touches nothing of it (its log was truncated and an ``error.txt`` written beside the
    result the first one wrote later)."""
    import json
    import socket
    import subprocess
    import sys

    from gdpseg.engine.work_dir_lock import LOCK_FILE
    path, work = study
    compare = _tool('compare')
    base = work / 'baseline' / 's0'
    base.mkdir(parents=True)
    (base / 'result.json').write_text(json.dumps(dict(
        method='baseline', label='baseline', ratio=1.0, seed=0, order=-1, final=90.0,
        flops_ratio=1.0, train_iters=4)))
    run = work / 'l1' / 'r0.5_s0'
    run.mkdir(parents=True)
    (run / 'log.txt').write_text('the first compare is writing this\n')
    other = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])
    try:
        (run / LOCK_FILE).write_text(json.dumps(dict(
            pid=other.pid, host=socket.gethostname(), config='compare: l1',
            started='2026-01-01T00:00:00')))
        code = compare.main([str(path), '--only', 'l1', '--seeds', '0', '--jobs', jobs])
    finally:
        other.kill()
        other.wait()
    assert code == 1
    assert (run / 'log.txt').read_text() == 'the first compare is writing this\n'
    assert not (run / 'error.txt').exists() and not (run / 'result.json').exists()
    text = (work / 'comparison.md').read_text()
    assert f'l1 r=0.5 s=0 is already running in {run} (process {other.pid}' in text
    assert (run / LOCK_FILE).exists()  # still the first one's
