# CIFAR-10 data and runtime shared by the CIFAR configs: mmpretrain's reader of the python
# batches at data/cifar10/cifar-10-batches-py (gdpseg.CIFAR10Local: never downloads), flip +
# pad-4 crop (the paper's section 4.1), top-1/top-5 accuracy.
_base_ = ['../default_runtime.py']
data_root = 'data/cifar10/'
# the model's data_preprocessor; not named data_preprocessor: MMEngine gives a top-level one
# to every model a config builds, fine-tuned exports (PrunedModel) included
preprocess_cfg = dict(
    _scope_='mmpretrain', type='ClsDataPreprocessor', num_classes=10,
    mean=[125.307, 122.961, 113.8575], std=[51.5865, 50.847, 51.255], to_rgb=False)
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=128, num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_scope_='mmpretrain', type='gdpseg.CIFAR10Local', data_root=data_root,
                 split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256, num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_scope_='mmpretrain', type='gdpseg.CIFAR10Local', data_root=data_root,
                 split='test',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
log_processor = dict(by_epoch=True)
visualizer = dict(type='mmpretrain.UniversalVisualizer',
                  vis_backends=[dict(type='LocalVisBackend'),
                                dict(type='TensorboardVisBackend')], name='visualizer')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True, ignore_last=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=10, max_keep_ckpts=3),
    visualization=dict(type='mmpretrain.VisualizationHook', enable=False))
env_cfg = dict(cudnn_benchmark=True, dist_cfg=dict(backend='nccl'))
