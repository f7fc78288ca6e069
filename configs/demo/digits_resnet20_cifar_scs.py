# Structured continuous sparsification of the ResNet-20 baseline: channel masks σ(β·s) with β
# annealed from 1 to 200, a FLOPs-weighted penalty, then the channels with the largest s kept at
# half the FLOPs; fine-tune the export as the other exports.
#   python tools/train.py configs/demo/digits_resnet20_cifar_scs.py
#   python tools/prune.py configs/demo/digits_resnet20_cifar_scs.py \
#       work_dirs/digits_resnet20_cifar_scs/iter_300.pth --out work_dirs/digits_scs_export
_base_ = ['./digits_resnet20_cifar_baseline.py']
model = dict(
    _delete_=True,
    type='ContinuousSparsification',
    architecture=_base_.model,
    input_shape=(1, 3, 32, 32),
    forward_mode='tensor',
    ratio=0.5,
    lam=2.0,
    init=0.5,
    beta=(1.0, 200.0))
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=1.0))  # masks: no weight decay
param_scheduler = [dict(type='CosineAnnealingLR', T_max=300, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=300, val_interval=300)
custom_hooks = [dict(type='PruningHook')]  # the method's step: annealing
default_hooks = dict(checkpoint=dict(interval=300))
load_from = 'work_dirs/digits_resnet20_cifar_baseline/iter_400.pth'
