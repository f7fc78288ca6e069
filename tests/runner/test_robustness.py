"""Failures that must be loud: pickles that run code, NaN, ε underflow, collapse, wrong files."""
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from gdpseg.datasets import make_digits_voc

from .test_runner import BASE_CFG, GDP_CFG, _opts, _tool

ROOT = Path(__file__).resolve().parents[2]


class _Evil:
    """Unpickling this creates a file: what a crafted checkpoint could do."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


@pytest.fixture(scope='module')
def voc(tmp_path_factory):
    return make_digits_voc(tmp_path_factory.mktemp('data') / 'VOCdevkit' / 'VOC2012',
                           num_train=16, num_val=8, size=32)


@pytest.fixture(scope='module')
def trained(voc, tmp_path_factory):
    """A 2-iteration GDP run and its export."""
    work = tmp_path_factory.mktemp('gdp')
    _tool('train').main([GDP_CFG, '--work-dir', str(work), *_opts(voc, 2)])
    out = work / 'export'
    _tool('prune').main([GDP_CFG, str(work / 'iter_2.pth'), '--out', str(out), '--cfg-options',
                         'model.input_shape=[1,3,32,32]',
                         'model.architecture.data_preprocessor.size=[32,32]'])
    return work, out


@pytest.mark.slow
def test_a_crafted_pickle_is_never_unpickled(voc, trained, tmp_path):
    from gdpseg.models import ExportedNetwork, PrunedModel

    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': _Evil(marker)}, evil)
    opts = _opts(voc, 2)[1:]
    with pytest.raises(ValueError, match='can run code'):
        _tool('test').main([GDP_CFG, str(evil), '--work-dir', str(tmp_path / 't'),
                            '--cfg-options', *opts])
    with pytest.raises(ValueError, match='can run code'):
        _tool('prune').main([GDP_CFG, str(evil), '--out', str(tmp_path / 'e'),
                             '--cfg-options', 'model.input_shape=[1,3,32,32]'])
    with pytest.raises(ValueError, match='can run code'):
        _tool('get_flops').main([GDP_CFG, str(evil), '--shape', '32', '32'])
    with pytest.raises(ValueError, match='trust_pickle'):
        ExportedNetwork(str(evil))
    # an export whose weights file was replaced by the pickle: loaded with weights_only
    _, export = trained
    (export / 'pruned_weights.pth').write_bytes(evil.read_bytes())
    with pytest.raises(ValueError, match='can run code, so it is not loaded'):
        PrunedModel(str(export))
    assert not marker.exists()


@pytest.mark.slow
def test_a_diverging_run_stops_at_the_first_nan_and_keeps_the_good_checkpoint(voc, tmp_path):
    from gdpseg.engine.hooks import TrainingDivergedError

    train = _tool('train')
    work = tmp_path / 'nan'
    cfg = tmp_path / 'nan_cfg.py'
    cfg.write_text(f"_base_ = [{GDP_CFG!r}]\n"
                   "custom_imports = dict(imports=['tests.runner.dump_hook'],\n"
                   "                      allow_failed_imports=False)\n"
                   "custom_hooks = [dict(type='GDPHook', lam=10.0, eps_factor=0.9,\n"
                   "                     eps_period=1), dict(type='NaNGateHook', at=3)]\n")
    with pytest.raises(TrainingDivergedError, match='iteration 3: gate α of 1 groups'):
        train.main([str(cfg), '--work-dir', str(work),
                    *[o for o in _opts(voc, 4) if not o.startswith('custom_hooks.')]])
    assert (work / 'iter_2.pth').exists() and not (work / 'iter_4.pth').exists()
    state = torch.load(work / 'iter_2.pth', weights_only=True)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    # a learning rate that blows up: stopped with the loss named, exit code non-zero
    with pytest.raises(TrainingDivergedError, match='not finite.*learning rate too high'):
        train.main([GDP_CFG, '--work-dir', str(tmp_path / 'lr'),
                    *_opts(voc, 6, 'optim_wrapper.optimizer.lr=1e12')])


def test_a_model_with_nan_weights_is_refused_by_test_and_prune(voc, trained, tmp_path):
    work, _ = trained
    ckpt = torch.load(work / 'iter_2.pth', weights_only=True)
    key = next(k for k in ckpt['state_dict'] if k.endswith('backbone.conv1.weight'))
    ckpt['state_dict'][key].fill_(float('nan'))
    broken = tmp_path / 'broken.pth'
    torch.save(ckpt, broken)
    opts = _opts(voc, 2)[1:]
    with pytest.raises(ValueError, match='not finite'):
        _tool('test').main([GDP_CFG, str(broken), '--work-dir', str(tmp_path / 't'),
                            '--cfg-options', *opts])
    with pytest.raises(ValueError, match='not finite'):
        _tool('prune').main([GDP_CFG, str(broken), '--out', str(tmp_path / 'e'),
                             '--cfg-options', 'model.input_shape=[1,3,32,32]',
                             'model.architecture.data_preprocessor.size=[32,32]'])


@pytest.mark.slow
def test_wrong_checkpoints_are_refused_with_what_they_are(voc, trained, tmp_path):
    work, _ = trained
    opts = _opts(voc, 2)[1:]
    test, prune = _tool('test'), _tool('prune')
    # a baseline checkpoint given to the GDP tools
    base = tmp_path / 'base'
    data = [o for o in opts if 'data_root' in o]
    _tool('train').main([BASE_CFG, '--work-dir', str(base), '--cfg-options', *data,
                         'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                         'default_hooks.checkpoint.interval=2',
                         'model.data_preprocessor.size=[32,32]'])
    with pytest.raises(ValueError, match='baseline checkpoint'):
        prune.main([GDP_CFG, str(base / 'iter_2.pth'), '--out', str(tmp_path / 'e'),
                    '--cfg-options', 'model.input_shape=[1,3,32,32]'])
    # a GDP checkpoint given with the baseline config
    with pytest.raises(ValueError, match='GDP checkpoint'):
        test.main([BASE_CFG, str(work / 'iter_2.pth'), '--work-dir', str(tmp_path / 't'),
                   '--cfg-options', *data, 'model.data_preprocessor.size=[32,32]'])
    # another architecture's weights
    other = tmp_path / 'resnet.pth'
    torch.save(nn.Conv2d(3, 4, 3).state_dict(), other)
    with pytest.raises(ValueError, match='keys of the model are missing'):
        test.main([GDP_CFG, str(other), '--work-dir', str(tmp_path / 't'),
                   '--cfg-options', *opts])
    # other shapes (another width of the ASPP)
    with pytest.raises(ValueError, match='other shapes'):
        test.main([GDP_CFG, str(work / 'iter_2.pth'), '--work-dir', str(tmp_path / 't'),
                   '--cfg-options', *opts, 'model.architecture.network.aspp_channels=32'])
    # not a checkpoint at all, and a truncated one
    text = tmp_path / 'notes.pth'
    text.write_text('hello')
    with pytest.raises(ValueError, match='not a readable checkpoint'):
        test.main([GDP_CFG, str(text), '--cfg-options', *opts])
    cut = tmp_path / 'cut.pth'
    cut.write_bytes((work / 'iter_2.pth').read_bytes()[:5000])
    with pytest.raises(ValueError, match='not a readable checkpoint'):
        prune.main([GDP_CFG, str(cut), '--out', str(tmp_path / 'e')])


@pytest.mark.slow
def test_resume_skips_a_checkpoint_cut_short_and_refuses_a_broken_explicit_one(voc, tmp_path):
    train = _tool('train')
    work = tmp_path / 'r'
    train.main([GDP_CFG, '--work-dir', str(work), *_opts(voc, 2)])
    good = work / 'iter_2.pth'
    (work / 'iter_4.pth').write_bytes(good.read_bytes()[:3000])  # a save cut short
    assert train.resume_checkpoint(str(work)) == str(good)
    with pytest.raises(ValueError, match='iter_4.pth: the file is broken'):
        train.main([GDP_CFG, '--work-dir', str(work), '--resume', str(work / 'iter_4.pth'),
                    *_opts(voc, 6)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        train.main([GDP_CFG, '--work-dir', str(work), '--resume', *_opts(voc, 4)])
    assert any('resuming from' in str(w.message) for w in caught)
    state = torch.load(work / 'iter_4.pth', weights_only=True)  # rewritten by the resumed run
    assert state['meta']['iter'] == 4


def test_option_types_and_unscored_labels_are_named(voc, trained, tmp_path):
    from PIL import Image

    train = _tool('train')
    with pytest.raises(ValueError, match='train_cfg.max_iters=1OO: expected a number'):
        train.main([GDP_CFG, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    'train_cfg.max_iters=1OO'])
    # a validation mask with a label no class has: scored as before, counted and warned about
    data = tmp_path / 'VOC2012'
    import shutil
    shutil.copytree(voc, data)
    name = (data / 'ImageSets' / 'Segmentation' / 'val.txt').read_text().split()[0]
    mask_path = data / 'SegmentationClass' / f'{name}.png'
    mask = Image.open(mask_path)
    pixels = mask.load()
    pixels[0, 0], pixels[1, 0] = 77, 77
    mask.save(mask_path)
    opts = [o.replace(str(voc), str(data)) for o in _opts(voc, 2)[1:]]
    work, _ = trained
    metrics, _ = _tool('test').main([GDP_CFG, str(work / 'iter_2.pth'), '--work-dir',
                                     str(tmp_path / 't'), '--cfg-options', *opts])
    assert metrics['unscored_pixels'] == 2
