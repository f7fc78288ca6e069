# ImageNet ILSVRC-12 from class folders: data/imagenet/{train,val}/<class>/*.JPEG (PyTorch's
# ImageNet-example layout, as the paper uses it); mmpretrain reads the folders, or
# meta/{train,val}.txt where present. Batch 32 per GPU: 8 GPUs give the usual 256.
_base_ = ['../default_runtime.py']
data_root = 'data/imagenet/'
# the model's data_preprocessor; not named data_preprocessor: MMEngine gives a top-level one
# to every model a config builds, fine-tuned exports (PrunedModel) included
preprocess_cfg = dict(
    _scope_='mmpretrain', type='ClsDataPreprocessor', num_classes=1000,
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_scope_='mmpretrain', type='ImageNet', data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_scope_='mmpretrain', type='ImageNet', data_root=data_root, split='val',
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
    logger=dict(type='LoggerHook', interval=100, log_metric_by_epoch=True, ignore_last=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=5, max_keep_ckpts=3),
    visualization=dict(type='mmpretrain.VisualizationHook', enable=False))
