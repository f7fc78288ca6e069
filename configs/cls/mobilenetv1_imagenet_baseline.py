# MobileNet-V1 (gdpseg.MobileNetV1, width 1.0; not in mmpretrain) on ImageNet: 90 epochs, SGD 0.1
# (batch 256), lr ×0.1 every 30 epochs, weight decay 4e-5.
#   bash tools/dist_train.sh configs/cls/mobilenetv1_imagenet_baseline.py 8
_base_ = ['../_base_/datasets/imagenet.py']
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    data_preprocessor=_base_.preprocess_cfg,
    backbone=dict(type='gdpseg.MobileNetV1'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=1024,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=4e-5))
param_scheduler = [dict(type='StepLR', by_epoch=True, step_size=30, gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=90, val_interval=1)
auto_scale_lr = dict(base_batch_size=256)
