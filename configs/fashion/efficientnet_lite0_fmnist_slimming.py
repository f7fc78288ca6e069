# Network Slimming on the fine-tuned EfficientNet-Lite0, from the baseline checkpoint: trained
# 750 iterations at the ratio with an L1 penalty on the BatchNorm scales, exported with
# tools/prune.py, fine-tuned (efficientnet_lite0_fmnist_finetune.py).
# Strength as the ResNet-20 study's scaled to this run's lr x iterations (0.005 x 750 against
# 0.02 x 1500: an eighth). Not tuned: a starting point, to be chosen on the validation split.
_base_ = ['./efficientnet_lite0_fmnist_baseline.py']
model = dict(
    _delete_=True,
    type='NetworkSlimming',
    architecture=_base_.model,
    input_shape=(1, 3, 64, 64),
    forward_mode='tensor',
    ratio=0.5,
    sparsity=1.25e-3)
optim_wrapper = dict(optimizer=dict(lr=0.005))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=750, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=750, val_interval=750)
default_hooks = dict(checkpoint=dict(interval=750))
load_from = 'work_dirs/efficientnet_lite0_fmnist_baseline/iter_2000.pth'
