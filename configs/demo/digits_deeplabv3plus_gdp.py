# Demo GDP run: the demo baseline gated and pruned through the Runner, from the baseline's
# checkpoint, with the paper's optimiser (SGD + proximal gate step). λ is large because the run
# is ~150x shorter than the paper's 60k iterations.
_base_ = ['./digits_deeplabv3plus_baseline.py']
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=_base_.model,
    input_shape=(1, 3, 64, 64),
    forward_mode='tensor')
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    constructor='GDPOptimWrapperConstructor',
    paramwise_cfg=dict(gate_lr_mult=1.0))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-4, begin=0, end=400,
                        by_epoch=False)]
train_cfg = dict(max_iters=400, val_interval=200)
custom_hooks = [
    dict(type='GDPHook', lam=140.0, eps_factor=0.9, eps_period=20),
    dict(type='GDPVisualHook', interval=10),
]
default_hooks = dict(checkpoint=dict(interval=200))
load_from = 'work_dirs/demo/baseline/iter_800.pth'
