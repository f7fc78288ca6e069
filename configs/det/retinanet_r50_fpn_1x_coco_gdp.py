# GDP on RetinaNet R50-FPN from its COCO baseline: gates on every prunable group of backbone,
# FPN and head (the FPN outputs are one group: the head's shared convs read every level), a
# FLOPs budget of 50 %, then tools/prune.py exports a plain mmdet detector.
#   bash tools/dist_train.sh configs/det/retinanet_r50_fpn_1x_coco_gdp.py 8
#   python tools/prune.py configs/det/retinanet_r50_fpn_1x_coco_gdp.py \
#       work_dirs/retinanet_r50_fpn_1x_coco_gdp/epoch_12.pth --out work_dirs/retinanet_pruned
#   python tools/test.py configs/det/retinanet_r50_fpn_1x_coco_gdp.py work_dirs/retinanet_pruned
_base_ = ['./retinanet_r50_fpn_1x_coco_baseline.py']
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=_base_.model,
    input_shape=(1, 3, 800, 1216),  # FLOPs are counted at this input (mmdet's usual test size)
    forward_mode='tensor',
    eps=0.1,
    init=1.0)
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=0.1))
custom_hooks = [
    dict(type='GDPHook', lam=dict(type='TargetLambda', ratio=0.5), eps_factor=0.9,
         eps_period=1, by_epoch=True, min_gate_lr_sum=150),
    dict(type='GDPVisualHook', interval=100),
]
load_from = 'work_dirs/retinanet_r50_fpn_1x_coco_baseline/epoch_12.pth'
