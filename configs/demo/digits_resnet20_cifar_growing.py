# Growing the ResNet-20 from a seed (structured continuous sparsification, growing mode): from
# scratch, a quarter of every prunable group's channels switched on, channels switch on and off
# (hard masks 1[s > 0], the slope of σ(β·s) for s) under the budget-aware penalty, β annealed
# from 1 to 200; the switched-on network within half the FLOPs is the export (exactly: no
# fine-tuning needed). The log's train/live_flops is the share of the full network trained.
#   python tools/train.py configs/demo/digits_resnet20_cifar_growing.py
#   python tools/prune.py configs/demo/digits_resnet20_cifar_growing.py \
#       work_dirs/digits_resnet20_cifar_growing/iter_700.pth --out work_dirs/digits_growing_export
_base_ = ['./digits_resnet20_cifar_baseline.py']
model = dict(
    _delete_=True,
    type='GrowingSparsification',
    architecture=_base_.model,
    input_shape=(1, 3, 32, 32),
    forward_mode='tensor',
    ratio=0.5,
    seed=0.25,
    lam=2.0,
    init=0.05,
    beta=(1.0, 200.0))
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=1.0))  # masks: no weight decay
param_scheduler = [dict(type='CosineAnnealingLR', T_max=700, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=700, val_interval=700)
custom_hooks = [dict(type='PruningHook')]  # the method's step: annealing, training cost
default_hooks = dict(checkpoint=dict(interval=700))
