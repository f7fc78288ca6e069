"""A task without an adapter (a classifier here) goes through train -> prune -> test too."""
from pathlib import Path

from .test_runner import _tool

ROOT = Path(__file__).resolve().parents[2]

BASELINE = """
default_scope = 'gdpseg'
custom_imports = dict(imports=['tests.runner.cls_parts'], allow_failed_imports=False)
model = dict(type='DigitsClassifier', depth=20)
train_dataloader = dict(batch_size=16, num_workers=0, collate_fn=dict(type='default_collate'),
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='DigitsClsDataset', split='train'))
val_dataloader = dict(batch_size=16, num_workers=0, collate_fn=dict(type='default_collate'),
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type='DigitsClsDataset', split='val', num=32))
test_dataloader = val_dataloader
val_evaluator = dict(type='DigitsAccuracy')
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4),
                     logger=dict(type='LoggerHook', interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
"""

GDP = """
_base_ = ['baseline.py']
model = dict(_delete_=True, type='GDPAlgorithm', architecture=_base_.model,
             input_shape=(1, 3, 32, 32), forward_mode='tensor')
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=1.0))
custom_hooks = [dict(type='GDPHook', lam=3000.0, eps_factor=0.9, eps_period=1)]
"""


def test_a_classifier_is_gated_pruned_and_evaluated_like_its_export(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    (tmp_path / 'baseline.py').write_text(BASELINE)
    (tmp_path / 'gdp.py').write_text(GDP)
    train, prune, test = _tool('train'), _tool('prune'), _tool('test')
    train.main([str(tmp_path / 'baseline.py'), '--work-dir', str(tmp_path / 'base'), '--quiet'])
    train.main([str(tmp_path / 'gdp.py'), '--work-dir', str(tmp_path / 'gdp'), '--quiet',
                '--cfg-options', f'load_from={tmp_path / "base" / "iter_4.pth"}'])
    ckpt = tmp_path / 'gdp' / 'iter_4.pth'
    info = prune.main([str(tmp_path / 'gdp.py'), str(ckpt), '--out', str(tmp_path / 'export')])
    assert info['flops']['ratio'] < 1
    # the ONNX file was checked with ONNX Runtime against the gated model, batch 1 and 2
    assert info['onnx']['checked_against'] == 'gated model'
    assert info['onnx']['max_relative_difference'] <= 1e-4
    assert (tmp_path / 'export' / 'pruned.onnx').stat().st_size > 0
    gated, gated_flops = test.main([str(tmp_path / 'gdp.py'), str(ckpt), '--work-dir',
                                    str(tmp_path / 't1')])
    exported, exp_flops = test.main([str(tmp_path / 'gdp.py'), str(tmp_path / 'export'),
                                     '--work-dir', str(tmp_path / 't2')])
    assert exported == gated and 'accuracy' in gated
    assert exp_flops == gated_flops
