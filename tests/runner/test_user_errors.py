"""What a careful user still hit: diverged checkpoints, constant exports, shared work dirs,
foreign load_from files, bad labels and config mistakes -- each refused in one clear line."""
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from gdpseg.datasets import make_digits_voc

from .test_runner import GDP_CFG, _opts, _tool

ROOT = Path(__file__).resolve().parents[2]
TARGET_CFG = str(ROOT / 'configs' / 'demo' / 'digits_deeplabv3plus_gdp_target.py')


@pytest.fixture(scope='module')
def voc(tmp_path_factory):
    return make_digits_voc(tmp_path_factory.mktemp('data') / 'VOCdevkit' / 'VOC2012',
                           num_train=16, num_val=8, size=32)


def _one_line(tool, argv):
    """Run a tool as its command line does: the error it exits with (one line expected)."""
    from gdpseg.utils.errors import run_tool

    with pytest.raises(SystemExit) as info:
        run_tool(_tool(tool).main, argv)
    message = str(info.value.code)
    assert message.startswith('error: ') and '\n' not in message, message
    return message


# 1 -------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_diverging_run_names_a_checkpoint_that_loads_with_finite_weights(voc, tmp_path):
    from gdpseg.engine.hooks import TrainingDivergedError
    from gdpseg.engine.hooks.finite_check_hook import checkpoint_problem

    work = tmp_path / 'div'
    with pytest.raises(TrainingDivergedError) as info:
        _tool('train').main([GDP_CFG, '--work-dir', str(work), *_opts(
            voc, 10, 'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=2', 'optim_wrapper.optimizer.lr=1e4')])
    message = str(info.value)
    kept = sorted(work.glob('iter_*.pth'))
    # every checkpoint left behind holds finite parameters and buffers (BN statistics too)
    assert all(checkpoint_problem(str(p)) is None for p in kept), \
        [(p.name, checkpoint_problem(str(p))) for p in kept]
    if kept:
        assert f'the last checkpoint that loads with finite weights is {work}' in message
    else:
        assert 'no checkpoint of this run has finite weights' in message


def test_finite_check_names_a_buffer_an_exploding_loss_and_an_underflowed_eps():
    from gdpseg.engine.hooks import FiniteCheckHook, TrainingDivergedError

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    runner = types.SimpleNamespace(
        model=model, iter=0, work_dir='/nonexistent',
        optim_wrapper=types.SimpleNamespace(optimizer=torch.optim.SGD(model.parameters(), 0.1)),
        message_hub=types.SimpleNamespace(get_info=lambda key: None))
    hook = FiniteCheckHook(loss_factor=100, window=2)
    for loss in (2.0, 2.4, 50.0):  # within 100x of the first ones
        hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(loss)))
    with pytest.raises(TrainingDivergedError, match=r'loss 500 .*loss_factor=100'):
        hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(500.0)))
    # a converged baseline's near-zero loss: chance level after pruning is not divergence
    calm = FiniteCheckHook(loss_factor=100, window=2)
    for loss in (0.001, 0.002, 2.3, 90.0):
        calm.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(loss)))
    model[1].running_var[0] = float('inf')
    with pytest.raises(TrainingDivergedError, match=r'1 tensors of the model \(1.running_var'):
        hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(1.0)))
    model[1].running_var[0] = 1.0
    model.gates = types.SimpleNamespace(eps=torch.tensor(1e-45, dtype=torch.float64),
                                        alphas=[torch.ones(2)], groups=[])
    with pytest.raises(TrainingDivergedError, match='ε fell to .*Raise min_eps'):
        hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(1.0)))


# 2 -------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_huge_lambda_keeps_the_output_input_dependent(voc, tmp_path):
    work = tmp_path / 'huge'
    _tool('train').main([GDP_CFG, '--work-dir', str(work),
                         *_opts(voc, 3, 'custom_hooks.0.lam=1e6')])
    info = _tool('prune').main([GDP_CFG, str(work / 'iter_2.pth'), '--out', str(tmp_path / 'e'),
                                '--no-onnx', '--cfg-options', 'model.input_shape=[1,3,32,32]',
                                'model.architecture.data_preprocessor.size=[32,32]'])
    assert info['flops']['ratio'] < 0.05  # pruned almost away, and still a function of x


def test_groups_that_die_together_are_reconnected_and_a_constant_export_refused():
    from gdpseg.core import prune
    from gdpseg.engine.export_dir import ConstantExportError, check_input_dependent
    from gdpseg.methods.gdp import attach_gates

    class TwoBranches(nn.Module):  # an ASPP in small: the output depends on x via a or b
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.a = nn.Conv2d(8, 6, 1)
            self.b = nn.Conv2d(8, 6, 3, padding=1)
            self.head = nn.Conv2d(12, 2, 1)

        def forward(self, x):
            x = torch.relu(self.stem(x))
            return self.head(torch.cat([torch.relu(self.a(x)), torch.relu(self.b(x))], 1))

    model = TwoBranches()
    x = torch.randn(1, 3, 8, 8)
    gates = attach_gates(model, (x,))
    branches = [i for i, g in enumerate(gates.groups) if g.prunable and
                any(p in ('a', 'b') for p in g.producers)]
    assert len(branches) == 2 and not set(branches) & set(gates.channel_groups.cut_groups())
    # each branch may die alone, but not both: the fewest groups that reconnect stay alive
    assert gates.channel_groups.reconnecting({branches[0]}) == set()
    assert len(gates.channel_groups.reconnecting(set(branches))) == 1
    with torch.no_grad():
        for i in branches:
            gates.alphas[i].fill_(1e-3)
    gates.prox_step(lr=1.0, lam=1e6)
    assert sum(gates.live(i) > 0 for i in branches) == 1
    pruned = prune(model, gates.channel_groups, gates.plan()).eval()
    check_input_dependent(pruned, None, x)  # does not raise
    assert 0 < gates.smallest_ratio() <= gates.flops_ratio() < 0.5

    class Constant(nn.Module):
        def forward(self, x):
            return torch.zeros(1, 2) + x.sum() * 0

    with pytest.raises(ConstantExportError, match='same output for two different inputs'):
        check_input_dependent(Constant(), None, x)


# 3 -------------------------------------------------------------------------------------------
def test_a_second_live_training_in_a_work_dir_is_refused(voc, tmp_path):
    from gdpseg.engine.work_dir_lock import LOCK_FILE, WorkDirBusyError, work_dir_lock

    work = tmp_path / 'shared'
    other = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        (work).mkdir()
        (work / LOCK_FILE).write_text(
            f'{{"pid": {other.pid}, "host": "{os.uname().nodename}", "config": "a.py"}}')
        with pytest.raises(WorkDirBusyError, match=f'process {other.pid}.*own --work-dir'):
            _tool('train').main([GDP_CFG, '--work-dir', str(work), *_opts(voc, 2)])
        assert not list(work.glob('iter_*.pth'))
    finally:
        other.kill()
        other.wait()
    # the same lock, its process gone: taken over with a warning, and released at the end
    with pytest.warns(UserWarning, match='taking the work_dir over'):
        with work_dir_lock(str(work)):
            assert str(os.getpid()) in (work / LOCK_FILE).read_text()
    assert not (work / LOCK_FILE).exists()


# 4, 5 ----------------------------------------------------------------------------------------
def test_load_from_is_read_safely_and_strictly(voc, tmp_path):
    foreign = tmp_path / 'resnet18.pth'
    torch.save(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).state_dict(), foreign)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(foreign.read_bytes()[:300])
    crafted = tmp_path / 'crafted.pth'
    torch.save({'state_dict': _Evil(tmp_path / 'pwned')}, crafted)
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    cases = ((foreign, 'keys of the model are missing'), (cut, 'not a readable checkpoint'),
             (crafted, 'can run code, so it is not loaded'), (empty, r'is empty \(0 bytes\)'))
    for path, expected in cases:
        opts = [o for o in _opts(voc, 2) if o != 'load_from=None'] + [f'load_from={path}']
        with pytest.raises(ValueError, match=f'load_from: .*{expected}'):
            _tool('train').main([GDP_CFG, '--work-dir', str(tmp_path / 'w'), *opts])
    assert not (tmp_path / 'pwned').exists()
    # the empty file in the other tools: one line, not an IndexError from the error handler
    opts = _opts(voc, 2)[1:]
    assert 'is empty' in _one_line('test', [GDP_CFG, str(empty), '--cfg-options', *opts])
    assert 'is empty' in _one_line('prune', [GDP_CFG, str(empty), '--out', str(tmp_path / 'e')])
    assert 'is empty' in _one_line('get_flops', [GDP_CFG, str(empty)])


class _Evil:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


# 6 -------------------------------------------------------------------------------------------
def test_a_training_label_out_of_range_names_its_file(voc, tmp_path):
    from PIL import Image

    from gdpseg.engine.hooks import LabelError

    data = tmp_path / 'VOC2012'
    shutil.copytree(voc, data)
    names = (data / 'ImageSets' / 'Segmentation' / 'train.txt').read_text().split()
    for name in names:  # every training mask, so whichever batch comes first has one
        mask_path = data / 'SegmentationClass' / f'{name}.png'
        mask = Image.open(mask_path)
        mask.load()[0, 0] = 50
        mask.save(mask_path)
    opts = [o.replace(str(voc), str(data)) for o in _opts(voc, 2)]
    with pytest.raises(LabelError, match=r'SegmentationClass/\w+\.png.*\[50\].*0\.\.20 or 255'):
        _tool('train').main([GDP_CFG, '--work-dir', str(tmp_path / 'w'), *opts])


# 7, 8, 11 ------------------------------------------------------------------------------------
def test_config_mistakes_are_one_line_with_the_nearest_valid_value(voc, tmp_path):
    base = [GDP_CFG, '--work-dir', str(tmp_path / 'w')]
    cases = [
        ('optim_wraper.optimizer.lr=100', "no key 'optim_wraper' (did you mean 'optim_wrapper'"),
        ('custom_hooks.0.eps_factor=[0.9,0.8]', 'eps_factor=[0.9, 0.8]: expected a number'),
        ('custom_hooks.0.eps_facter=0.9',
         "custom_hooks.0.eps_facter: GDPHook has no argument 'eps_facter' (did you mean "
         "'eps_factor'?)"),
        ('train_cfg.max_iter=1', "has no argument 'max_iter' (did you mean 'max_iters'?)"),
        ('model.type=GDPAlgorithmm', "'GDPAlgorithmm' is not a registered model (did you mean "
         "'GDPAlgorithm'?)"),
        ('model.forward_mode=tensr', "forward_mode must be 'tensor'"),
        ('custom_hooks.0.min_eps=1e-50', 'below the smallest normal float32'),
        # a dict literal arrives split at its commas, or as text: set its keys one by one
        ("model.resource={'type':'latency','table':'t.json'}",
         'model.resource={...}: MMEngine\'s --cfg-options takes no dict literal'),
        ("model.resource={'type':'flops'}", 'set the keys one by one: model.resource.type='),
    ]
    for option, expected in cases:
        message = _one_line('train', base + _opts(voc, 2, option))
        assert expected in message, (option, message)
    # --debug: the traceback instead of one line
    from gdpseg.utils.errors import run_tool
    with pytest.raises(TypeError, match='eps_facter'):
        run_tool(_tool('train').main, base + _opts(voc, 2, 'custom_hooks.0.eps_facter=1',
                                                    '--debug'))


def test_an_unreachable_budget_is_refused_with_the_smallest_reachable_ratio(voc, tmp_path):
    opts = [o for o in _opts(voc, 2) if not o.startswith('custom_hooks.0.lam')]
    message = _one_line('train', [TARGET_CFG, '--work-dir', str(tmp_path / 'w'), *opts,
                                  'custom_hooks.0.lam.ratio=1e-6'])
    assert 'a ratio of 1e-06 cannot be reached' in message and 'at least 0.0' in message


def test_a_corrupt_image_is_named_in_one_line(voc, tmp_path):
    data = tmp_path / 'VOC2012'
    shutil.copytree(voc, data)
    names = (data / 'ImageSets' / 'Segmentation' / 'train.txt').read_text().split()
    for name in names:
        (data / 'JPEGImages' / f'{name}.jpg').write_bytes(b'\xff\xd8\xff not a jpeg')
    opts = [o.replace(str(voc), str(data)) for o in _opts(voc, 2)]
    message = _one_line('train', [GDP_CFG, '--work-dir', str(tmp_path / 'w'), *opts])
    assert 'cannot be decoded as an image' in message and 'JPEGImages' in message


# 10 ------------------------------------------------------------------------------------------
def test_export_files_that_are_not_what_they_should_be(tmp_path):
    from gdpseg.models import PrunedModel

    export = tmp_path / 'exp'
    export.mkdir()
    torch.save(nn.Conv2d(3, 3, 1), export / 'pruned.pth')
    with pytest.raises(ValueError, match='not the plan.json .* a binary file'):
        PrunedModel(str(export / 'pruned.pth'))
    (export / 'plan.json').write_text('{"something": 1}')
    with pytest.raises(ValueError, match='JSON but not the plan.json'):
        PrunedModel(str(export))


def test_a_method_with_a_training_step_needs_the_hook_that_runs_it():
    from mmengine.config import Config

    from gdpseg.apis.train import check_gdp_cfg
    from gdpseg.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    cfg = Config(dict(model=dict(type='SoftFilterPruning', architecture=None, ratio=0.5),
                      custom_hooks=[]))
    with pytest.raises(ValueError, match=r"no hook to run it: add dict\(type='PruningHook'\)"):
        check_gdp_cfg(cfg)
    for hook in ('PruningHook', 'SoftPruningHook', 'AnnealHook'):  # earlier names still drive it
        cfg.custom_hooks = [dict(type=hook)]
        check_gdp_cfg(cfg)
    # a one-shot method has no step: no hook needed
    check_gdp_cfg(Config(dict(model=dict(type='OneShotPruning', architecture=None, ratio=0.5),
                              custom_hooks=[])))
