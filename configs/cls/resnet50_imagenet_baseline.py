# ResNet-50 (mmpretrain's) on ImageNet: 100 epochs, SGD 0.1 (batch 256), step lr at 30/60/90.
#   bash tools/dist_train.sh configs/cls/resnet50_imagenet_baseline.py 8
_base_ = ['../_base_/datasets/imagenet.py']
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    data_preprocessor=_base_.preprocess_cfg,
    backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(3, ), style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=2048,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=1)
auto_scale_lr = dict(base_batch_size=256)
