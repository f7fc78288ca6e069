# Classification demo baseline: mmpretrain's ImageClassifier with a CIFAR ResNet-20 on digits in
# CIFAR-10's python layout (gdpseg.datasets.make_digits_cifar; no download). CPU-sized.
#   python -c "from gdpseg.datasets import make_digits_cifar; make_digits_cifar('data/digits_cifar')"
#   python tools/train.py configs/demo/digits_resnet20_cifar_baseline.py
_base_ = ['../_base_/datasets/cifar10.py']
data_root = 'data/digits_cifar/'
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    data_preprocessor=_base_.preprocess_cfg,
    backbone=dict(type='gdpseg.CifarResNetBackbone', depth=20, shortcut='A'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))
# no flip: a mirrored digit is another digit (or none)
train_pipeline = [dict(type='RandomCrop', crop_size=32, padding=4), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=32, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=50, num_workers=0, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9,
                                                         weight_decay=5e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=400, by_epoch=False, eta_min=0)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=400, val_interval=400)
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(interval=20, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, interval=400, max_keep_ckpts=2))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
