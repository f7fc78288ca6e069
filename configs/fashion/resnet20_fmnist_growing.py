# Growing the Fashion-MNIST ResNet-20 from a seed (structured continuous sparsification, growing
# mode), from scratch with the baseline's recipe for the from-scratch budget of the study (6,000
# iterations): a quarter of every prunable group's channels switched on at the start, channels
# switch on and off under the budget-aware penalty; the switched-on network within the ratio is
# the export. Not tuned: a starting point, to be chosen on the validation split.
_base_ = ['./resnet20_fmnist_baseline.py']
model = dict(
    _delete_=True,
    type='GrowingSparsification',
    architecture=_base_.model,
    input_shape=(1, 1, 28, 28),
    forward_mode='tensor',
    ratio=0.5,
    seed=0.25,
    lam=2.0,
    init=0.05,
    beta=(1.0, 200.0))
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=1.0))  # masks: no weight decay
param_scheduler = [dict(type='CosineAnnealingLR', T_max=6000, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=6000, val_interval=6000)
custom_hooks = [dict(type='PruningHook')]  # the method's step: annealing, training cost
default_hooks = dict(checkpoint=dict(interval=6000))
