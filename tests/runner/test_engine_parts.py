"""GDP's MMEngine parts in isolation: optimizer groups, the hook's step condition, configs."""
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine import Config

from gdpseg.methods.gdp import GDPAlgorithm, GDPHook, GDPOptimWrapperConstructor
from gdpseg.utils import register_all_modules

ROOT = Path(__file__).resolve().parents[2]


def _small_model():
    register_all_modules()
    cfg = Config.fromfile(ROOT / 'configs' / 'demo' / 'digits_deeplabv3plus_gdp.py')
    cfg.model.input_shape = (1, 3, 32, 32)
    return GDPAlgorithm(**{k: v for k, v in cfg.model.items() if k != 'type'})


def test_gate_group_has_own_lr_and_no_weight_decay():
    model = _small_model()
    ctor = GDPOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9,
                                                 weight_decay=1e-4)),
        dict(gate_lr=9e-4, custom_keys={'backbone': dict(lr_mult=0.1)}))
    wrapper = ctor(model)
    alphas = {id(p) for p in model.gates.parameters()}
    seen = 0
    for group in wrapper.optimizer.param_groups:
        if any(id(p) in alphas for p in group['params']):
            seen += 1
            assert group['lr'] == pytest.approx(9e-4) and group['weight_decay'] == 0
    assert seen > 0
    backbone = {id(p) for p in model.architecture.network.backbone.parameters()}
    assert all(g['lr'] == pytest.approx(1e-3) for g in wrapper.optimizer.param_groups
               if any(id(p) in backbone for p in g['params']))
    with pytest.raises(ValueError, match='not both'):
        GDPOptimWrapperConstructor(dict(optimizer=dict(type='SGD', lr=0.01)),
                                   dict(gate_lr=1e-3, gate_lr_mult=0.1))


def test_hook_steps_only_after_real_optimizer_steps_and_decays_eps():
    model = _small_model()
    calls = []
    model.gates.prox_step = lambda lr, lam, passes=1, **kw: calls.append((lr, lam)) or lam
    flags = iter([False, True, False, True])
    optimizer = torch.optim.SGD([{'params': list(model.gates.parameters()), 'lr': 0.5}])
    runner = SimpleNamespace(
        model=model, iter=0, epoch=0, max_iters=4, logger=None,
        optim_wrapper=SimpleNamespace(should_update=lambda: next(flags), optimizer=optimizer),
        message_hub=SimpleNamespace(update_info=lambda *a: None, update_scalar=lambda *a: None))
    hook = GDPHook(lam=2.0, eps_factor=0.5, eps_period=2)
    hook.before_train(runner)
    for i in range(4):
        runner.iter = i
        hook.after_train_iter(runner, i)
    assert calls == [(0.5, 2.0), (0.5, 2.0)]  # accumulation: 2 real steps of 4 iterations
    assert float(model.gates.eps) == pytest.approx(0.1 * 0.5 ** 2)  # t=4, period 2
    with pytest.raises(ValueError):
        GDPHook(lam=-1)


def test_baseline_checkpoint_loads_into_the_gdp_wrapper():
    model = _small_model()
    baseline = {k[len('architecture.'):]: torch.full_like(v, 0.5)
                for k, v in model.state_dict().items() if k.startswith('architecture.')}
    model.load_state_dict(baseline, strict=False)
    w = model.architecture.network.backbone.conv1.weight
    assert torch.all(w == 0.5)
    assert torch.all(model.gates.alphas[1] == 1.0)  # gates untouched


@pytest.mark.parametrize('name', ['deeplabv3plus_r50_gdp.py', 'deeplabv3plus_r50_baseline_voc.py',
                                  'deeplabv3plus_r50-d8_mmseg_gdp.py',
                                  'deeplabv3plus_r50_pruned_finetune.py',
                                  'gdp_presets/deeplabv3plus_r50_gdp_flops5.py'])
def test_configs_parse_with_the_paper_settings(name):
    cfg = Config.fromfile(ROOT / 'configs' / name)
    assert cfg.train_cfg.max_iters > 0
    if 'gdp' in name and 'mmseg' not in name:
        assert cfg.model.type == 'GDPAlgorithm'
        assert cfg.model.input_shape == (1, 3, 513, 513)
        assert cfg.optim_wrapper.paramwise_cfg.gate_lr == 9e-4
        hook = cfg.custom_hooks[0]
        assert (hook.eps_factor, hook.eps_period) == (0.97, 120)
        if 'presets' in name:  # a budget, not a hand-tuned λ
            assert hook.lam == dict(type='TargetLambda', ratio=0.052)
        assert cfg.train_cfg.max_iters == 60000
        assert cfg.optim_wrapper.optimizer.weight_decay == 1e-4
        net = cfg.model.architecture.network
        assert (net.depth, net.output_stride, tuple(net.rates), net.low_level_proj) == \
            (50, 16, (6, 12, 18), 48)


@pytest.mark.slow
def test_mmseg_auxiliary_head_is_pruned_with_the_backbone_but_not_counted():
    from gdpseg.engine.export_dir import export_model
    from gdpseg.evaluation import TensorMode, count_conv_linear_flops

    from ..mmseg_models import mmseg_deeplabv3plus_cfg

    register_all_modules()
    cfg = mmseg_deeplabv3plus_cfg()
    torch.manual_seed(0)
    model = GDPAlgorithm(architecture=cfg, input_shape=(1, 3, 64, 64)).eval()
    gates = model.gates
    with torch.no_grad():
        for g in gates.groups:
            if g.prunable:
                gates.alpha(g).copy_(torch.rand(g.size) + 0.1)
                gates.alpha(g)[: g.size // 2] = 0
    x = torch.randn(1, 3, 64, 64)
    pruned, plan, diff = export_model(model, x)
    layer3 = next(g for g in gates.groups if 'backbone.layer3.0.conv3' in g.producers)
    aux_conv = pruned.auxiliary_head.convs[0].conv
    assert aux_conv.in_channels == gates.live(layer3) < layer3.size
    with torch.no_grad():  # the pruned auxiliary head still runs on the pruned backbone
        aux = pruned.auxiliary_head(pruned.extract_feat(x))
    assert aux.shape[1] == 21
    assert gates.flops() == count_conv_linear_flops(TensorMode(pruned), (x,))


@pytest.mark.slow
def test_get_flops_tool_counts_the_paper_model(capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location('get_flops', ROOT / 'tools' / 'get_flops.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main([str(ROOT / 'configs' / 'deeplabv3plus_r50_gdp.py'), '--shape', '65', '65'])
    out = capsys.readouterr().out
    from gdpseg.evaluation import TensorMode, count_conv_linear_flops
    register_all_modules()
    cfg = Config.fromfile(ROOT / 'configs' / 'deeplabv3plus_r50_baseline_voc.py')
    from gdpseg.registry import MODELS
    expected = count_conv_linear_flops(TensorMode(MODELS.build(cfg.model)),
                                       (torch.zeros(1, 3, 65, 65),))
    assert f'FLOPs (conv+linear): {expected / 1e9:.2f} G' in out
    assert 'GDP groups: 45 prunable of 47' in out


def test_get_flops_takes_the_input_channels_and_size_from_the_config():
    from gdpseg.apis import get_flops
    from gdpseg.evaluation import TensorMode, count_conv_linear_flops
    from gdpseg.registry import MODELS

    register_all_modules()
    cfg = str(ROOT / 'configs' / 'fashion' / 'resnet20_fmnist_baseline.py')
    # one input channel (the preprocessor's mean) at the pipeline's 28×28 crop
    result = get_flops.main([cfg])
    assert result['shape'] == [1, 1, 28, 28]
    model = MODELS.build(Config.fromfile(cfg).model).eval()
    assert result['flops'] == count_conv_linear_flops(TensorMode(model),
                                                      (torch.zeros(1, 1, 28, 28),))
    assert get_flops.main([cfg, '--shape', '32', '32'])['shape'] == [1, 1, 32, 32]
    with pytest.raises(ValueError, match=r'does not run on an input of shape \(1, 3, 28, 28\)'
                                         r'.*--shape C H W'):
        get_flops.main([cfg, '--shape', '3', '28', '28'])
    with pytest.raises(ValueError, match='H W or C H W'):
        get_flops.main([cfg, '--shape', '28'])


def test_lambda_is_a_component_of_the_hook():
    from gdpseg.methods.gdp import ConstantLambda

    register_all_modules()
    assert isinstance(GDPHook(lam=3.0).lam, ConstantLambda)
    hook = GDPHook(lam=dict(type='ConstantLambda', value=5.0))
    assert hook.lam(None, None) == 5.0
    with pytest.raises(KeyError, match='NoSuchLambda'):
        GDPHook(lam=dict(type='NoSuchLambda'))
    with pytest.raises(ValueError, match='eps factor'):
        GDPHook(lam=1.0, eps_factor=0.0)


def test_tools_find_the_task_and_check_only_the_datasets_they_know(tmp_path):
    import torch.nn as nn

    from gdpseg.engine.tasks import check_data, task_for

    model = _small_model()
    assert task_for(model).name == 'segmentation'  # the GDP wrapper's architecture
    assert task_for(nn.Linear(2, 2)).name == 'generic'
    assert 'mIoU: 1.5' in task_for(model).format_metrics({'mIoU': 1.5, 'aAcc': 2.0})
    assert task_for(nn.Linear(2, 2)).format_metrics({'accuracy/top1': 0.5}) == \
        'accuracy/top1: 0.5000'
    # a COCO dataset is checked as COCO, not as VOC: a valid one passes, a missing one says how
    # to make one
    coco = dict(dataset=dict(type='mmdet.CocoDataset', data_root=str(tmp_path / 'coco'),
                             ann_file='train.json', data_prefix=dict(img='images/')))
    with pytest.raises(FileNotFoundError, match='COCO-layout') as info:
        check_data(coco)
    assert 'VOC' not in str(info.value)
    (tmp_path / 'coco' / 'images').mkdir(parents=True)
    (tmp_path / 'coco' / 'train.json').write_text('{}')
    check_data(coco)
    voc = dict(dataset=dict(type='PascalVOCDataset', data_root=str(tmp_path / 'voc'),
                            ann_file='train.txt', data_prefix='JPEGImages'))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        check_data(voc)
    (tmp_path / 'voc' / 'JPEGImages').mkdir(parents=True)
    (tmp_path / 'voc' / 'train.txt').write_text('a\n')
    with pytest.raises(FileNotFoundError, match='a.jpg'):  # a plain-string prefix works
        check_data(voc)


def test_rng_state_is_restored_on_resume_only():
    from gdpseg.engine import RNGStateHook

    hook = RNGStateHook()
    ckpt = {}
    torch.manual_seed(123)
    hook.before_save_checkpoint(None, ckpt)
    expected = torch.rand(3)
    torch.manual_seed(7)
    hook.after_load_checkpoint(SimpleNamespace(_resume=False), ckpt)  # load_from: untouched
    assert not torch.equal(torch.rand(3), expected)
    hook.after_load_checkpoint(SimpleNamespace(_resume=True), ckpt)
    assert torch.equal(torch.rand(3), expected)


def test_hook_warns_when_a_group_dies_and_keeps_the_trunk():
    model = _small_model()
    gates = model.gates
    warned = []
    optimizer = torch.optim.SGD([{'params': list(gates.parameters()), 'lr': 1.0}])
    runner = SimpleNamespace(
        model=model, iter=0, epoch=0, max_iters=2, logger=SimpleNamespace(warning=warned.append),
        optim_wrapper=SimpleNamespace(should_update=lambda: True, optimizer=optimizer),
        message_hub=SimpleNamespace(update_info=lambda *a: None, update_scalar=lambda *a: None))
    hook = GDPHook(lam=1e7)
    hook.before_train(runner)
    hook.after_train_iter(runner, 0)
    assert warned and all('iteration 1: group' in w and 'lost all its channels' in w
                          for w in warned)
    cut = gates.channel_groups.cut_groups()
    assert cut and all(gates.live(i) >= 1 for i in cut)
    assert not any(gates.groups[i].name in w for i in cut for w in warned)
    # a dead group moved off zero (momentum) and zeroed again is not reported twice
    count = len(warned)
    dead = next(i for i, g in enumerate(gates.groups) if g.prunable and not gates.live(i))
    with torch.no_grad():
        gates.alphas[dead].fill_(1e-6)
    runner.iter = 1
    hook.after_train_iter(runner, 1)
    assert not gates.live(dead) and len(warned) == count
    # at the end, each group kept alive at one channel is named as the network's bottleneck
    runner.logger.info = lambda msg: None
    hook.after_train(runner)
    bottlenecks = warned[count:]
    named = [gates.groups[i].name for i in cut if gates.groups[i].size > 1]
    assert named and len(bottlenecks) == len(named)
    assert all(any(w.startswith(f'GDP: group {n} ended with 1 of') for w in bottlenecks)
               for n in named)
    assert all('1-channel bottleneck' in w and 'min_channels' in w for w in bottlenecks)


# (configs/compare holds study files of tools/compare.py: tested in test_compare.py)
SHIPPED = sorted(str(p.relative_to(ROOT / 'configs')) for p in (ROOT / 'configs').rglob('*.py')
                 if '_base_' not in p.parts and 'compare' not in p.parts)


@pytest.mark.slow
@pytest.mark.parametrize('name', SHIPPED)
def test_every_shipped_config_builds_and_initialises_offline(name, monkeypatch, tmp_path):
    import socket

    from mmengine.registry import DefaultScope

    from gdpseg.registry import MODELS

    def no_network(*args, **kwargs):
        raise OSError('network access in a test')

    monkeypatch.setattr(socket.socket, 'connect', no_network)
    register_all_modules()
    cfg = Config.fromfile(ROOT / 'configs' / name)
    if cfg.model.get('type') == 'GDPAlgorithm' or 'GDPAlgorithm' in str(cfg.model.get('type')):
        # a small trace; the size is not the point here (the channels are the config's)
        cfg.model.input_shape = (1, cfg.model.get('input_shape', (1, 3))[1], 64, 64)
    task = cfg.model.get('architecture', cfg.model)
    if task.get('type') == 'StyleTransferModel':  # files it reads at build: named when absent
        from gdpseg.datasets import make_sample_style_data

        task.style_image = str(make_sample_style_data(tmp_path, num_content=1) / 'style.jpg')
        if task.loss_network.get('weights'):
            with pytest.raises(FileNotFoundError, match='vgg16-397923af.pth'):
                MODELS.build(cfg.model)
            task.loss_network = dict(weights=None, random=True)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'gdpseg')):
        if cfg.model.get('type') == 'PrunedModel':  # needs an export: says where it looked
            with pytest.raises(FileNotFoundError, match='tools/prune.py'):
                MODELS.build(cfg.model)
            return
        model = MODELS.build(cfg.model)
    model.init_weights()
    assert sum(p.numel() for p in model.parameters()) > 0


def test_amp_on_a_machine_without_gpu_is_refused_in_one_line():
    import importlib.util

    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU')
    spec = importlib.util.spec_from_file_location('train_tool', ROOT / 'tools' / 'train.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(ValueError, match='--amp needs a CUDA GPU'):
        tool.main([str(ROOT / 'configs' / 'demo' / 'digits_deeplabv3plus_gdp.py'), '--amp'])


@pytest.mark.slow
def test_custom_imports_from_the_working_directory_need_no_pythonpath(tmp_path, monkeypatch):
    import subprocess
    import sys

    (tmp_path / 'my_hooks.py').write_text(
        'from mmengine.hooks import Hook\nfrom gdpseg.registry import HOOKS\n\n'
        '@HOOKS.register_module()\nclass MyHook(Hook):\n    pass\n')
    cfg = tmp_path / 'cfg.py'
    base = str(ROOT / 'configs' / 'demo' / 'digits_deeplabv3plus_gdp.py')
    cfg.write_text(f"_base_ = [{base!r}]\n"
                   "custom_imports = dict(imports=['my_hooks'], allow_failed_imports=False)\n")
    env = {k: v for k, v in __import__('os').environ.items() if k != 'PYTHONPATH'}
    # started as a script, as users do: the working directory is not on sys.path by itself
    done = subprocess.run([sys.executable, str(ROOT / 'tools' / 'get_flops.py'), 'cfg.py',
                           '--shape', '32', '32'], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'FLOPs (conv+linear)' in done.stdout


def test_bn_recalibration_replaces_stale_statistics_by_the_data_average():
    import torch.nn as nn

    from gdpseg.engine.bn_recalibration import recalibrate_bn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5),
                          nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2)).eval()
    batches = [torch.randn(8, 3, 6, 6) * 3 + 1 for _ in range(5)]
    with torch.no_grad():  # what the first BN sees, batch by batch
        per_batch = [model[0](b) for b in batches]
        feats = torch.cat(per_batch)
        model[1].running_mean.fill_(5.0)  # stale
        stale = model(batches[0])
    used = recalibrate_bn(model, batches, lambda m, b: m(b))
    assert used == 5 and not model.training and model[1].momentum == 0.1
    torch.testing.assert_close(model[1].running_mean, feats.mean((0, 2, 3)))
    # every batch counts the same: the average of the batches' (unbiased) variances
    torch.testing.assert_close(model[1].running_var,
                               torch.stack([f.var((0, 2, 3)) for f in per_batch]).mean(0))
    with torch.no_grad():
        assert not torch.allclose(model(batches[0]), stale)
    with pytest.raises(ValueError, match='no batches'):
        recalibrate_bn(model, [], lambda m, b: m(b))


def test_an_smp_network_is_a_config_component_and_gates_like_the_others():
    from gdpseg.core import prune
    from gdpseg.registry import MODELS

    register_all_modules()
    cfg = Config.fromfile(ROOT / 'configs' / 'demo' / 'digits_deeplabv3plus_gdp.py')
    cfg.model.architecture.network = dict(type='SMPModel', arch='DeepLabV3Plus',
                                          encoder_name='resnet18', classes=21)
    cfg.model.input_shape = (1, 3, 64, 64)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    gates = model.gates
    assert 'prunable:' in gates.summary()
    assert sum(g.prunable for g in gates.groups) > 10
    with torch.no_grad():
        for g, a in zip(gates.groups, gates.alphas):
            if g.prunable:
                a[::3] = 0
        x = torch.randn(1, 3, 64, 64)
        pruned = prune(model.architecture, gates).eval()
        torch.testing.assert_close(pruned(x, mode='tensor'), model(x, mode='tensor'),
                                   rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match='download'):
        MODELS.build(dict(type='SMPModel', arch='Unet', encoder_weights='imagenet'))


def test_rewound_cosine_replays_the_tail_of_the_baselines_schedule():
    from mmengine.optim.scheduler import CosineAnnealingLR

    from gdpseg.engine import RewoundCosineLR

    def lrs(make, steps):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.05)
        scheduler, out = make(optimizer), []
        for _ in range(steps):
            out.append(optimizer.param_groups[0]['lr'])
            optimizer.step()
            scheduler.step()
        return out

    baseline = lrs(lambda o: CosineAnnealingLR(o, T_max=40, eta_min=0.001), 40)
    rewound = lrs(lambda o: RewoundCosineLR(o, T_max=40, rewind=15, eta_min=0.001), 25)
    assert rewound == pytest.approx(baseline[15:], rel=1e-6)
    assert rewound[0] < 0.05  # it starts part-way, not at the optimizer's lr
    with pytest.raises(ValueError, match='rewind'):
        RewoundCosineLR(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1),
                        T_max=40, rewind=40)


def test_quiet_stdout_drops_the_libraries_chatter_and_keeps_everything_else(capsys):
    from gdpseg.engine.quiet import quiet_stdout

    with quiet_stdout():
        print('loading annotations into memory...')
        print('Done (t=0.00s)')
        print('creating index...')
        print('index created!')
        print('mIoU: 30.9')
        print('no newline at the end', end='')
    assert capsys.readouterr().out == 'mIoU: 30.9\nno newline at the end'


TARGET = dict(type='TargetLambda', ratio=0.5)


@pytest.mark.parametrize('schedule', ['cosine', 'poly'])
def test_gate_lr_sum_sets_the_sum_of_the_gates_lr_over_the_run(schedule):
    from mmengine.optim import CosineAnnealingLR, OptimWrapper, PolyLR

    from gdpseg.methods.gdp.gate_lr import gate_groups, scheduled_lr_sum

    model = _small_model()
    gates = [p for p in model.gates.parameters() if p.requires_grad]
    others = [p for n, p in model.named_parameters() if not n.startswith('gates.')]
    optimizer = torch.optim.SGD([{'params': others}, {'params': gates}], lr=0.02, momentum=0.9)
    wrapper = OptimWrapper(optimizer)
    sched = (CosineAnnealingLR(optimizer, T_max=40, by_epoch=False) if schedule == 'cosine'
             else PolyLR(optimizer, power=0.9, eta_min=1e-3, end=40, by_epoch=False))
    info = []
    runner = SimpleNamespace(model=model, iter=0, epoch=0, max_iters=40, optim_wrapper=wrapper,
                             param_schedulers=[sched], logger=SimpleNamespace(info=info.append),
                             message_hub=SimpleNamespace(update_info=lambda *a: None,
                                                         update_scalar=lambda *a: None))
    assert gate_groups(optimizer, model.gates) == [1]
    before = scheduled_lr_sum(runner, 0)
    GDPHook(lam=TARGET, gate_lr_sum=7.0).before_train(runner)
    assert info and 'gate_lr_sum=7 over 40 iterations' in info[0]
    # what training then sees: the gates' lr sums to 7, the weights' lr is untouched
    seen = [0.0, 0.0]
    for _ in range(40):
        seen[0] += optimizer.param_groups[0]['lr']
        seen[1] += optimizer.param_groups[1]['lr']
        sched.step()
    assert seen[1] == pytest.approx(7.0, rel=1e-6)
    assert seen[0] == pytest.approx(before, rel=1e-9)
    # with a constant λ a larger gate lr would prune more: not applied, and said so
    warned = []
    runner.logger.warning = warned.append
    sched.last_step, sched._global_step = 0, 0
    runner.iter = 0
    lr = optimizer.param_groups[1]['lr']
    GDPHook(lam=3.0, gate_lr_sum=70.0).before_train(runner)
    assert optimizer.param_groups[1]['lr'] == lr and 'not applied' in warned[0]
    with pytest.raises(ValueError, match='gate_lr_sum'):
        GDPHook(lam=0.0, gate_lr_sum=0)
    with pytest.raises(ValueError, match='not both'):
        GDPHook(lam=0.0, gate_lr_sum=1.0, min_gate_lr_sum=1.0)


def test_the_schedules_stepped_on_the_side_leave_the_logged_base_lr_as_it_was():
    from mmengine.optim import CosineAnnealingLR, OptimWrapper

    model = _small_model()
    gates = [p for p in model.gates.parameters() if p.requires_grad]
    others = [p for n, p in model.named_parameters() if not n.startswith('gates.')]
    optimizer = torch.optim.SGD([{'params': others}, {'params': gates}], lr=0.02, momentum=0.9)
    wrapper = OptimWrapper(optimizer)  # two groups: MMEngine logs its base settings' lr too
    sched = CosineAnnealingLR(wrapper, T_max=40, by_epoch=False)  # as the Runner builds it
    runner = SimpleNamespace(model=model, iter=0, epoch=0, max_iters=40, optim_wrapper=wrapper,
                             param_schedulers=[sched], logger=SimpleNamespace(info=print),
                             message_hub=SimpleNamespace(update_info=lambda *a: None,
                                                         update_scalar=lambda *a: None))
    GDPHook(lam=TARGET, gate_lr_sum=7.0).before_train(runner)
    lrs = wrapper.get_lr()
    assert lrs['base_lr'] == [pytest.approx(0.02)] and lrs['lr'][0] == pytest.approx(0.02)
    sched.step()  # and the schedule goes on from there
    assert wrapper.get_lr()['base_lr'][0] == pytest.approx(0.02 * (1 + math.cos(math.pi / 40)) / 2)


def test_min_gate_lr_sum_raises_the_gates_lr_to_the_floor_and_never_lowers_it():
    from mmengine.optim import CosineAnnealingLR, OptimWrapper

    from gdpseg.methods.gdp.gate_lr import scheduled_lr_sum

    # configured: 0.02 * (40 + 1) / 2 = 0.41; a floor of 100 would need a peak lr of 4.9: the
    # peak is held at max_gate_lr (1.0, the default): x50, so 20.5
    for floor, expected in ((0.1, 0.41), (2.0, 2.0), (100.0, 20.5)):
        model = _small_model()
        optimizer = torch.optim.SGD([{'params': [p for p in model.gates.parameters()
                                                 if p.requires_grad]}], lr=0.02, momentum=0.9)
        runner = SimpleNamespace(
            model=model, iter=0, epoch=0, max_iters=40, optim_wrapper=OptimWrapper(optimizer),
            param_schedulers=[CosineAnnealingLR(optimizer, T_max=40, by_epoch=False)],
            logger=SimpleNamespace(info=lambda msg: None),
            message_hub=SimpleNamespace(update_info=lambda *a: None,
                                        update_scalar=lambda *a: None))
        assert scheduled_lr_sum(runner, 0) == pytest.approx(0.41, rel=1e-6)
        GDPHook(lam=TARGET, min_gate_lr_sum=floor).before_train(runner)
        assert scheduled_lr_sum(runner, 0) == pytest.approx(expected, rel=1e-6)
