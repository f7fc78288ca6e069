# Structured continuous sparsification on the segmentation demo baseline, with the fine-tuning
# optimiser (AdamW): channel masks σ(β·s), β annealed from 1 to 200, a FLOPs-weighted penalty,
# then the channels with the largest s kept at half the FLOPs. The masks' learning rate is 10x
# the weights' (5e-3) so that s can cross 0 within a few hundred Adam steps.
_base_ = ['./digits_deeplabv3plus_baseline.py']
model = dict(
    _delete_=True,
    type='ContinuousSparsification',
    architecture=_base_.model,
    input_shape=(1, 3, 64, 64),
    forward_mode='tensor',
    ratio=0.5,
    lam=2.0,
    init=0.5,
    beta=(1.0, 200.0))
optim_wrapper = dict(optimizer=dict(lr=5e-4), constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=10.0))  # masks: no weight decay
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=300,
                        by_epoch=False)]
train_cfg = dict(max_iters=300, val_interval=300)
custom_hooks = [dict(type='PruningHook')]  # the method's step: annealing
default_hooks = dict(checkpoint=dict(interval=300))
load_from = 'work_dirs/demo/baseline/iter_800.pth'
