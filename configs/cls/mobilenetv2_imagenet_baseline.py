# MobileNet-V2 (mmpretrain's, width 1.0) on ImageNet: 300 epochs, SGD 0.045 (batch 256), lr
# ×0.98 per epoch, weight decay 4e-5 (mmpretrain's recipe).
#   bash tools/dist_train.sh configs/cls/mobilenetv2_imagenet_baseline.py 8
_base_ = ['../_base_/datasets/imagenet.py']
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    data_preprocessor=_base_.preprocess_cfg,
    backbone=dict(type='MobileNetV2', widen_factor=1.0),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=1280,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.045, momentum=0.9, weight_decay=4e-5))
param_scheduler = [dict(type='StepLR', by_epoch=True, step_size=1, gamma=0.98)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_interval=1)
auto_scale_lr = dict(base_batch_size=256)
