# MobileNet-V2 for CIFAR (gdpseg.CifarMobileNetV2) on CIFAR-10: 350 epochs, SGD 0.1, cosine.
#   python tools/train.py configs/cls/mobilenetv2_cifar10_baseline.py
_base_ = ['../_base_/datasets/cifar10.py']
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    data_preprocessor=_base_.preprocess_cfg,
    backbone=dict(type='gdpseg.CifarMobileNetV2'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=1280,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9,
                                                         weight_decay=4e-5, nesterov=True))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=350, by_epoch=True, eta_min=0)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=350, val_interval=10)
