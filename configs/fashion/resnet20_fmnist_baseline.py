# A CIFAR-style ResNet-20 (1 input channel) trained from scratch on Fashion-MNIST: the baseline
# of the real-data classification study (configs/compare/fashion_cls.py). On 2 CPU cores.
#   python tools/train.py configs/fashion/resnet20_fmnist_baseline.py
_base_ = ['../_base_/datasets/fashion_mnist.py']
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    data_preprocessor=_base_.preprocess_cfg,
    backbone=dict(type='gdpseg.CifarResNetBackbone', depth=20, shortcut='A', in_channels=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1,)))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9,
                                                         weight_decay=5e-4, nesterov=True))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=4000, by_epoch=False, eta_min=0)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4000, val_interval=1000)
