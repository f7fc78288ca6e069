# mmdet's FCOS R50-FPN with GroupNorm in the head, 1x on COCO (the caffe-style backbone of
# mmdet's fcos_r50-caffe_fpn_gn-head_1x_coco, here with torchvision's ResNet-50 weights).
#   bash tools/dist_train.sh configs/det/fcos_r50_fpn_gn-head_1x_coco_baseline.py 8
_base_ = ['./retinanet_r50_fpn_1x_coco_baseline.py']
model = dict(
    _delete_=True,
    _scope_='mmdet',
    type='FCOS',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(0, 1, 2, 3),
                  frozen_stages=1, norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True,
                  style='pytorch',
                  # ImageNet weights from a local file (nothing is downloaded), e.g.
                  # init_cfg=dict(type='Pretrained', checkpoint='data/resnet50-0676ba61.pth')
                  init_cfg=None),
    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, start_level=1,
              add_extra_convs='on_output', num_outs=5, relu_before_extra_convs=True),
    bbox_head=dict(
        type='FCOSHead', num_classes=80, in_channels=256, stacked_convs=4, feat_channels=256,
        strides=[8, 16, 32, 64, 128], norm_cfg=dict(type='GN', num_groups=32,
                                                   requires_grad=True),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
optim_wrapper = dict(optimizer=dict(lr=0.01), paramwise_cfg=dict(bias_lr_mult=2.0,
                                                                  bias_decay_mult=0.0))
param_scheduler = [
    dict(type='ConstantLR', factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
