# GDP on FCOS R50-FPN: the head's GroupNorm (32 groups of 8 channels) is pruned by whole norm
# groups, so the head's convs are prunable in blocks of 8 channels; FLOPs budget 50 %.
#   bash tools/dist_train.sh configs/det/fcos_r50_fpn_gn-head_1x_coco_gdp.py 8
_base_ = ['./fcos_r50_fpn_gn-head_1x_coco_baseline.py']
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=_base_.model,
    input_shape=(1, 3, 800, 1216),
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
load_from = 'work_dirs/fcos_r50_fpn_gn-head_1x_coco_baseline/epoch_12.pth'
