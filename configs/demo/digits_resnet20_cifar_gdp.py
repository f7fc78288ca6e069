# Classification demo with GDP: the ResNet-20 baseline gated from its checkpoint and pruned to
# half its FLOPs (TargetLambda), ε x0.9 every 20 iterations (a short run).
_base_ = ['./digits_resnet20_cifar_baseline.py']
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=_base_.model,
    input_shape=(1, 3, 32, 32),
    forward_mode='tensor')
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=1.0))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=300, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=300, val_interval=300)
custom_hooks = [
    dict(type='GDPHook', lam=dict(type='TargetLambda', ratio=0.5), eps_factor=0.9,
         eps_period=20, min_gate_lr_sum=150),
    dict(type='GDPVisualHook', interval=10),
]
default_hooks = dict(checkpoint=dict(interval=300))
load_from = 'work_dirs/digits_resnet20_cifar_baseline/iter_400.pth'
