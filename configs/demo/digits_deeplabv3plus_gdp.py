# Demo GDP run: the demo baseline gated and pruned through the Runner, from the baseline's
# checkpoint. λ is large because the run is ~200x shorter than the paper's 60k iterations.
_base_ = ['./digits_deeplabv3plus_baseline.py']
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=_base_.model,
    input_shape=(1, 3, 64, 64),
    forward_mode='tensor')
optim_wrapper = dict(
    optimizer=dict(lr=0.02),
    constructor='GDPOptimWrapperConstructor',
    paramwise_cfg=dict(gate_lr_mult=1.0))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-4, begin=0, end=300,
                        by_epoch=False)]
train_cfg = dict(max_iters=300, val_interval=150)
custom_hooks = [
    dict(type='GDPHook', lam=100.0, eps_factor=0.9, eps_period=15),
    dict(type='GDPVisualHook', interval=10),
]
default_hooks = dict(checkpoint=dict(interval=150))
load_from = 'work_dirs/demo/baseline/iter_400.pth'
