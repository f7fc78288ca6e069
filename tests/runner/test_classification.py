"""Classification by mmpretrain: a CIFAR ResNet classifier through train -> prune -> test on
digits in CIFAR-10's layout, with a FLOPs budget."""
import json
from pathlib import Path

import pytest

from gdpseg.datasets import make_digits_cifar

from .test_runner import _tool

ROOT = Path(__file__).resolve().parents[2]
BASE = str(ROOT / 'configs' / 'demo' / 'digits_resnet20_cifar_baseline.py')
GDP = str(ROOT / 'configs' / 'demo' / 'digits_resnet20_cifar_gdp.py')


@pytest.mark.slow
def test_mmpretrain_classifier_is_gated_pruned_and_evaluated_like_its_export(tmp_path):
    root = make_digits_cifar(tmp_path / 'digits_cifar', num_train=96, num_test=40)
    data = [f'{k}.dataset.data_root={root}/' for k in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    train, prune, test = _tool('train'), _tool('prune'), _tool('test')
    train.main([BASE, '--work-dir', str(tmp_path / 'base'), '--quiet', '--cfg-options', *data,
                'train_cfg.max_iters=6', 'train_cfg.val_interval=6',
                'default_hooks.checkpoint.interval=6'])
    train.main([GDP, '--work-dir', str(tmp_path / 'gdp'), '--quiet', '--cfg-options', *data,
                'train_cfg.max_iters=20', 'train_cfg.val_interval=20',
                'default_hooks.checkpoint.interval=20', 'custom_hooks.0.lam.ratio=0.6',
                f'load_from={tmp_path / "base" / "iter_6.pth"}'])
    ckpt = tmp_path / 'gdp' / 'iter_20.pth'
    info = prune.main([GDP, str(ckpt), '--out', str(tmp_path / 'export')])
    assert 0.6 <= info['flops']['ratio'] <= 0.61  # the budget, met by the export
    assert info['onnx']['max_relative_difference'] <= 1e-4
    gated, gated_flops = test.main([GDP, str(ckpt), '--work-dir', str(tmp_path / 't1'),
                                    '--quiet', '--cfg-options', *data])
    exported, exp_flops = test.main([GDP, str(tmp_path / 'export'), '--work-dir',
                                     str(tmp_path / 't2'), '--quiet', '--show-dir',
                                     str(tmp_path / 'show'), '--cfg-options', *data])
    assert set(gated) >= {'accuracy/top1', 'accuracy/top5'}
    assert exported['accuracy/top1'] == gated['accuracy/top1']
    assert exported['accuracy/top5'] == gated['accuracy/top5']
    assert exp_flops == gated_flops == json.loads(
        (tmp_path / 'export' / 'plan.json').read_text())['flops']['after']
    assert len(list((tmp_path / 'show').rglob('*.png'))) == 40  # every test image drawn


def test_missing_cifar_names_the_files_and_the_stand_in(tmp_path):
    train = _tool('train')
    with pytest.raises(FileNotFoundError, match='make_digits_cifar') as err:
        train.main([BASE, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    f'train_dataloader.dataset.data_root={tmp_path}/'])
    assert 'cifar-10-batches-py/data_batch_1 is missing' in str(err.value)


def test_cifar_files_with_other_checksums_load_with_one_warning(tmp_path, capfd):
    from mmengine.logging import MMLogger

    from gdpseg.registry import DATASETS
    from gdpseg.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    MMLogger.get_instance('gdpseg_cifar_test')  # the 'current' logger print_log writes to
    root = make_digits_cifar(tmp_path / 'c', num_train=20, num_test=10)
    ds = DATASETS.build(dict(type='CIFAR10Local', data_root=str(root), split='test',
                             pipeline=[]))
    assert len(ds) == 10 and ds[0]['gt_label'] in range(10)
    captured = capfd.readouterr()
    assert (captured.out + captured.err).count('differ from the published ones') == 1
    with pytest.raises(ValueError, match='never downloads'):
        DATASETS.build(dict(type='CIFAR10Local', data_root=str(root), download=True))
