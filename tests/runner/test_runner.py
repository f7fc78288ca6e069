"""The runner path on generated VOC-layout data: train -> prune -> test, resume, DDP, errors."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gdpseg.datasets import make_digits_voc

ROOT = Path(__file__).resolve().parents[2]
GDP_CFG = str(ROOT / 'configs' / 'demo' / 'digits_deeplabv3plus_gdp.py')
BASE_CFG = str(ROOT / 'configs' / 'demo' / 'digits_deeplabv3plus_baseline.py')


def _tool(name):
    spec = importlib.util.spec_from_file_location(f'tool_{name}', ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def voc(tmp_path_factory):
    return make_digits_voc(tmp_path_factory.mktemp('data') / 'VOCdevkit' / 'VOC2012',
                           num_train=16, num_val=8, size=32)


def _opts(voc, iters, *extra):
    data = [f'{k}.dataset.data_root={voc}' for k in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    return ['--cfg-options', *data, 'load_from=None', f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={iters}', 'default_hooks.checkpoint.interval=2',
            'train_dataloader.dataset.pipeline.2.prob=0.0',  # deterministic data
            'default_hooks.logger.interval=1', 'model.input_shape=[1,3,32,32]',
            'model.architecture.data_preprocessor.size=[32,32]', 'custom_hooks.0.lam=3000',
            'custom_hooks.0.eps_period=1',
            'train_dataloader.batch_size=4', 'custom_hooks.1.interval=2', *extra]


@pytest.mark.slow
def test_train_prune_test_exported_equals_gated(voc, tmp_path):
    train, prune, test = _tool('train'), _tool('prune'), _tool('test')
    work = tmp_path / 'gdp'
    train.main([GDP_CFG, '--work-dir', str(work), *_opts(voc, 4)])
    ckpt = work / 'iter_4.pth'
    assert ckpt.exists()
    for png in ('gdp_gate_histogram.png', 'gdp_flops_ratio.png'):
        assert (work / png).stat().st_size > 1000
    state = torch.load(ckpt, weights_only=True)  # safe loading of our own checkpoints
    assert any(k.startswith('gates.alphas.') for k in state['state_dict'])
    assert 'gates.eps' in state['state_dict']

    out = tmp_path / 'export'
    prune.main([GDP_CFG, str(ckpt), '--out', str(out), '--cfg-options',
                'model.input_shape=[1,3,32,32]',
                'model.architecture.data_preprocessor.size=[32,32]'])
    structure = (out / 'structure.json').read_text()
    assert '"kept"' in structure and 'ASPP branch' in (out / 'report.txt').read_text()
    # the convenience pickle is plain torch; the plan + weights load without pickle
    pruned = torch.load(out / 'pruned.pth', weights_only=False)
    assert not any(type(m).__module__.startswith('gdpseg') for m in pruned.modules())
    torch.load(out / 'pruned_weights.pth', weights_only=True)

    opts = _opts(voc, 4)[1:]
    gated_metrics, gated_flops = test.main([GDP_CFG, str(ckpt), '--work-dir',
                                            str(tmp_path / 't1'), '--cfg-options', *opts])
    exp_metrics, exp_flops = test.main([GDP_CFG, str(out / 'plan.json'), '--work-dir',
                                        str(tmp_path / 't2'), '--cfg-options', *opts])
    assert exp_metrics['mIoU'] == gated_metrics['mIoU']
    assert exp_metrics['aAcc'] == gated_metrics['aAcc']
    assert exp_flops == gated_flops
    # tools/get_flops.py counts the export (at its traced size) as tools/test.py does
    import contextlib
    import io
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        _tool('get_flops').main([GDP_CFG, str(out)])
    assert f'FLOPs (conv+linear): {exp_flops / 1e9:.2f} G ({exp_flops:,})' in printed.getvalue()
    assert 'Input shape: (1, 3, 32, 32)' in printed.getvalue()
    # the export's directory works too, and a pickled module is refused, not unpickled
    dir_metrics, _ = test.main([GDP_CFG, str(out), '--work-dir', str(tmp_path / 't3'),
                                '--show-dir', str(tmp_path / 'show'), '--cfg-options', *opts])
    drawn = list((tmp_path / 'show').rglob('*.png'))  # every prediction, drawn (8 images)
    assert len(drawn) == 8
    from PIL import Image
    assert min(Image.open(drawn[0]).size) >= 256  # 32x32 inputs, enlarged to be readable
    assert dir_metrics['mIoU'] == exp_metrics['mIoU']
    with pytest.raises(ValueError, match='plan.json'):
        test.main([GDP_CFG, str(out / 'pruned.pth'), '--cfg-options', *opts])
    from gdpseg.models import ExportedNetwork
    with pytest.raises(ValueError, match='PrunedModel'):
        ExportedNetwork(str(out / 'pruned.pth'))

    # BN recalibration: an export whose statistics are re-estimated on training batches
    recal = tmp_path / 'export_bn'
    prune.main([GDP_CFG, str(ckpt), '--out', str(recal), '--recalibrate-bn', '2',
                '--cfg-options', *[o for o in opts if 'data_root' in o],
                'model.input_shape=[1,3,32,32]', 'train_dataloader.batch_size=4',
                'model.architecture.data_preprocessor.size=[32,32]'])
    import json
    recal_plan = json.loads((recal / 'plan.json').read_text())
    assert recal_plan['bn_recalibrated_batches'] == 2
    # the recalibrated export differs from the gated model by design: ONNX is checked
    # against the PyTorch export instead
    assert recal_plan['onnx']['checked_against'] == 'PyTorch export'
    before = torch.load(out / 'pruned_weights.pth', weights_only=True)
    after = torch.load(recal / 'pruned_weights.pth', weights_only=True)
    key = next(k for k in before if k.endswith('bn1.running_mean'))
    assert not torch.equal(before[key], after[key])
    assert all(torch.equal(before[k], after[k]) for k in before if 'running' not in k and
               'num_batches_tracked' not in k)

    # the export trains on as a plain task model (fine-tuning config), BN re-estimated first
    ft_cfg = tmp_path / 'ft_cfg.py'
    ft_base = str(ROOT / 'configs' / 'demo' / 'digits_deeplabv3plus_finetune.py')
    ft_cfg.write_text(f"_base_ = [{ft_base!r}]\n"
                      "custom_hooks = [dict(type='BNRecalibrationHook', num_batches=2)]\n")
    data = [o for o in opts if 'data_root' in o]
    train.main([str(ft_cfg), '--work-dir', str(tmp_path / 'ft'), '--cfg-options', *data,
                f'model.plan={out / "plan.json"}', 'train_cfg.max_iters=2',
                'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'])
    assert (tmp_path / 'ft' / 'iter_2.pth').exists()
    log = next((tmp_path / 'ft').rglob('*.log')).read_text()
    assert 'BN statistics re-estimated on 2 training batches' in log


@pytest.mark.slow
def test_resume_continues_with_identical_gates(voc, tmp_path):
    train = _tool('train')
    train.main([GDP_CFG, '--work-dir', str(tmp_path / 'straight'), *_opts(voc, 4)])
    train.main([GDP_CFG, '--work-dir', str(tmp_path / 'cut'), *_opts(voc, 2)])
    train.main([GDP_CFG, '--work-dir', str(tmp_path / 'cut'), '--resume',
                str(tmp_path / 'cut' / 'iter_2.pth'), *_opts(voc, 4)])
    a = torch.load(tmp_path / 'straight' / 'iter_4.pth', weights_only=True)['state_dict']
    b = torch.load(tmp_path / 'cut' / 'iter_4.pth', weights_only=True)['state_dict']
    gate_keys = [k for k in a if k.startswith('gates.')]
    assert gate_keys
    for key in gate_keys:
        assert torch.equal(a[key], b[key]), key
    # ε decayed on the same schedule in both runs: 0.1 · 0.9^4 after 4 iterations
    assert float(a['gates.eps']) == pytest.approx(0.1 * 0.9 ** 4)


@pytest.mark.slow
def test_two_process_ddp_keeps_gates_identical(voc, tmp_path):
    work = tmp_path / 'ddp'
    cfg = tmp_path / 'ddp_cfg.py'
    cfg.write_text(f"_base_ = [{GDP_CFG!r}]\n"
                   "custom_imports = dict(imports=['tests.runner.dump_hook'],\n"
                   "                      allow_failed_imports=False)\n"
                   "custom_hooks = [dict(type='GDPHook', lam=3000.0, eps_factor=0.9,\n"
                   "                     eps_period=1), dict(type='GateDumpHook')]\n")
    env = dict(os.environ, PYTHONPATH=f'{ROOT}{os.pathsep}' + os.environ.get('PYTHONPATH', ''),
               OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
           '--master_port', '29517', str(ROOT / 'tools' / 'train.py'), str(cfg),
           '--launcher', 'pytorch', '--work-dir', str(work),
           *[o for o in _opts(voc, 3) if not o.startswith('custom_hooks.')]]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    r0 = torch.load(work / 'gates_rank0.pt')
    r1 = torch.load(work / 'gates_rank1.pt')
    assert r0['eps'] == r1['eps']
    for x, y in zip(r0['alphas'], r1['alphas']):
        assert torch.equal(x, y)
    assert any(torch.any(x != 1) for x in r0['alphas'])  # the gates did train


def test_wrong_key_missing_hook_and_missing_data_give_clear_errors(voc, tmp_path):
    train = _tool('train')
    with pytest.raises(TypeError, match='lamda'):
        train.main([GDP_CFG, '--work-dir', str(tmp_path / 'w'),
                    *_opts(voc, 2, 'custom_hooks.0.lamda=1.0')])
    with pytest.raises(ValueError, match='GDPHook'):
        train.main([GDP_CFG, '--work-dir', str(tmp_path / 'w'),
                    *_opts(voc, 2, 'custom_hooks.0.type=GDPVisualHook')])
    missing = tmp_path / 'nowhere' / 'VOC2012'
    with pytest.raises(FileNotFoundError, match='voc_aug.py') as info:
        train.main([GDP_CFG, '--work-dir', str(tmp_path / 'w'),
                    *_opts(voc, 2, f'train_dataloader.dataset.data_root={missing}')])
    assert str(missing) in str(info.value)
    (voc / 'ImageSets' / 'Segmentation' / 'val.txt').rename(voc / 'val.bak')
    try:
        with pytest.raises(FileNotFoundError, match='val.txt'):
            train.main([GDP_CFG, '--work-dir', str(tmp_path / 'w'), *_opts(voc, 2)])
    finally:
        (voc / 'val.bak').rename(voc / 'ImageSets' / 'Segmentation' / 'val.txt')


@pytest.mark.slow
def test_quiet_mode_shows_progress_and_warnings_and_logs_everything_to_the_work_dir(
        voc, tmp_path, capsys):
    train = _tool('train')
    work = tmp_path / 'q'
    train.main([GDP_CFG, '--work-dir', str(work), '--quiet',
                *_opts(voc, 3, 'custom_hooks.0.lam=1e7')])  # branches die: a warning
    out, err = capsys.readouterr()
    assert 'Iter(train)' not in out and 'System environment' not in out
    assert 'GDP train' in err and '3/3' in err  # the progress bar
    assert 'lost all its channels' in out  # warnings still reach the console
    log = next(work.rglob('*.log')).read_text()
    assert 'System environment' in log and 'Iter(train) [3/3]' in log  # last iteration logged

    # the logs as curves and a summary (OpenMMLab's analyze_logs)
    spec = importlib.util.spec_from_file_location(
        'analyze_logs', ROOT / 'tools' / 'analysis_tools' / 'analyze_logs.py')
    analyze = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(analyze)
    png = tmp_path / 'curves.png'
    analyze.main(['plot_curve', str(work), '--out', str(png)])
    assert png.stat().st_size > 5000
    line = analyze.summary([str(work)])
    assert '3 iterations' in line and 'gdp_flops_ratio' in line and 'mIoU' in line
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        analyze.find_scalars(str(tmp_path / 'nowhere'))
