"""Detection as a task by registry: an mmdet RetinaNet through train -> prune -> test."""
import json
from pathlib import Path

import pytest
import torch

from gdpseg.datasets import make_digits_coco

from .test_runner import _tool

ROOT = Path(__file__).resolve().parents[2]
BASE = str(ROOT / 'configs' / 'demo' / 'digits_retinanet_r18_baseline.py')
GDP = str(ROOT / 'configs' / 'demo' / 'digits_retinanet_r18_gdp.py')


@pytest.mark.slow
def test_retinanet_is_gated_pruned_and_evaluated_like_its_export(tmp_path):
    root = make_digits_coco(tmp_path / 'digits_coco', num_train=16, num_val=8, size=64)
    data = [f'{k}.dataset.data_root={root}/' for k in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    data += [f'{k}.ann_file={root}/annotations/val.json' for k in
             ('val_evaluator', 'test_evaluator')]
    short = ['train_cfg.max_iters=4', 'train_cfg.val_interval=4',
             'default_hooks.checkpoint.interval=4']
    train, prune, test = _tool('train'), _tool('prune'), _tool('test')
    train.main([BASE, '--work-dir', str(tmp_path / 'base'), '--quiet', '--cfg-options', *data,
                *short])
    train.main([GDP, '--work-dir', str(tmp_path / 'gdp'), '--quiet', '--cfg-options', *data,
                *short, f'load_from={tmp_path / "base" / "iter_4.pth"}',
                'custom_hooks.0.lam=30000'])
    ckpt = tmp_path / 'gdp' / 'iter_4.pth'
    info = prune.main([GDP, str(ckpt), '--out', str(tmp_path / 'export')])
    assert info['flops']['ratio'] < 1  # something was pruned
    # all of RetinaNet's per-level outputs go to ONNX, checked against the gated detector
    assert info['onnx']['max_relative_difference'] <= 1e-4
    groups = {g['name']: g for g in info['groups']}
    assert groups['neck.fpn_convs.0.conv (+2 coupled)']['prunable']  # one group, all levels
    # every prediction kept (score_thr 0), so the metrics compare the two models' boxes
    opts = [*data, 'model.architecture.test_cfg.score_thr=0.0']
    gated, gated_flops = test.main([GDP, str(ckpt), '--work-dir', str(tmp_path / 't1'),
                                    '--quiet', '--cfg-options', *opts])
    plan = json.loads((tmp_path / 'export' / 'plan.json').read_text())
    assert plan['flops']['after'] == gated_flops
    cfg_file = tmp_path / 'export' / 'config.py'  # the export keeps its own test_cfg
    cfg_file.write_text(cfg_file.read_text().replace('score_thr=0.05', 'score_thr=0.0'))
    exported, exp_flops = test.main([GDP, str(tmp_path / 'export'), '--work-dir',
                                     str(tmp_path / 't2'), '--quiet', '--show-dir',
                                     str(tmp_path / 'show'), '--cfg-options', *opts])
    assert len(list((tmp_path / 'show').rglob('*.png'))) == 8  # boxes drawn on every image
    assert 'coco/bbox_mAP' in gated and exported['coco/bbox_mAP'] == gated['coco/bbox_mAP']
    assert exported['coco/bbox_mAP_50'] == gated['coco/bbox_mAP_50']
    assert exp_flops == gated_flops
    with pytest.raises(FileNotFoundError, match='make_digits_coco'):
        test.main([GDP, str(ckpt), '--cfg-options', 'test_dataloader.dataset.data_root=/nowhere/'])
    assert torch.load(tmp_path / 'export' / 'pruned_weights.pth', weights_only=True)


@pytest.mark.parametrize('name', ['retinanet_r50_fpn_1x_coco_gdp.py',
                                  'fcos_r50_fpn_gn-head_1x_coco_gdp.py'])
@pytest.mark.slow
def test_coco_configs_gate_backbone_neck_and_head(name):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from gdpseg.registry import MODELS
    from gdpseg.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(ROOT / 'configs' / 'det' / name)
    data = cfg.train_dataloader.dataset
    assert (data.data_root, data.ann_file) == ('data/coco/', 'annotations/instances_train2017.json')
    assert cfg.val_dataloader.dataset.data_prefix.img == 'val2017/'
    cfg.model.input_shape = (1, 3, 128, 128)  # a small trace; the size is not the point here
    with DefaultScope.overwrite_default_scope('gdpseg'):
        model = MODELS.build(cfg.model)
    groups = model.gates.channel_groups.groups
    fpn = next(g for g in groups if g.name.startswith('neck.fpn_convs.0.conv'))
    assert fpn.prunable and len(fpn.producers) == 5  # every level, one group
    head = [g for g in groups if g.name.startswith('bbox_head.') and g.prunable]
    assert len(head) >= 4  # the stacked convs of the head
    if 'fcos' in name:  # GroupNorm(32, 256): blocks of 8 channels
        assert {g.unit for g in head} == {8}
    share = sum(g.channels for g in groups if g.prunable) / sum(g.channels for g in groups)
    assert share > 0.9
