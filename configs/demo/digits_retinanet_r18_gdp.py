# Detection demo with GDP: the RetinaNet baseline gated, pruned through the Runner from the
# baseline's checkpoint to a FLOPs budget of 50 %. The FPN outputs are one group (RetinaHead's
# convs read every level).
_base_ = ['./digits_retinanet_r18_baseline.py']
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=_base_.model,
    input_shape=(1, 3, 64, 64),
    forward_mode='tensor')
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=0.005, momentum=0.9, weight_decay=1e-4),
    constructor='GDPOptimWrapperConstructor',
    paramwise_cfg=dict(gate_lr_mult=1.0))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-4, begin=0, end=300,
                        by_epoch=False)]
train_cfg = dict(max_iters=300, val_interval=300)
custom_hooks = [
    dict(type='GDPHook', lam=dict(type='TargetLambda', ratio=0.5), eps_factor=0.9,
         eps_period=20, min_gate_lr_sum=150),
    dict(type='GDPVisualHook', interval=10),
]
default_hooks = dict(checkpoint=dict(interval=300))
load_from = 'work_dirs/digits_retinanet_r18_baseline/iter_600.pth'
