# Fashion-MNIST (real photographs of garments, 28x28 gray, 10 classes), read from its IDX files
# (gdpseg.FashionMNIST, never downloads; Debian: apt-get install dataset-fashion-mnist puts them
# in /usr/share/datasets/fashion-mnist). Splits: 'train' = the training file minus 5,000
# held-out images, 'val' = those 5,000 (every choice of settings is made on them), 'test' =
# the 10,000 test images (reported). Flip + pad-2 crop, top-1 accuracy.
_base_ = ['../default_runtime.py']
data_root = '/usr/share/datasets/fashion-mnist'
preprocess_cfg = dict(
    _scope_='mmpretrain', type='ClsDataPreprocessor', num_classes=10,
    mean=[72.94], std=[90.02], to_rgb=False)
train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=128, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_scope_='mmpretrain', type='gdpseg.FashionMNIST', data_root=data_root,
                 split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=500, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_scope_='mmpretrain', type='gdpseg.FashionMNIST', data_root=data_root,
                 split='val', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=500, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_scope_='mmpretrain', type='gdpseg.FashionMNIST', data_root=data_root,
                 split='test', pipeline=test_pipeline))
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1,))
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
log_processor = dict(by_epoch=False)
visualizer = dict(type='mmpretrain.UniversalVisualizer',
                  vis_backends=[dict(type='LocalVisBackend'),
                                dict(type='TensorboardVisBackend')], name='visualizer')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False, ignore_last=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=2),
    visualization=dict(type='mmpretrain.VisualizationHook', enable=False))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
