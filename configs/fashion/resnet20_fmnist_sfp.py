# A training-time baseline on the Fashion-MNIST ResNet-20, from the baseline checkpoint: trained
# 1500 iterations at the ratio, exported with tools/prune.py, fine-tuned
# (resnet20_fmnist_finetune.py).
# Strengths are the digits demo's scaled to this run's lr x iterations (lr 0.02 x 1500 against
# 0.05 x 300: half). Not tuned: a starting point, to be chosen on the validation split.
_base_ = ['./resnet20_fmnist_baseline.py']
model = dict(
    _delete_=True,
    type='SoftFilterPruning',
    architecture=_base_.model,
    input_shape=(1, 1, 28, 28),
    forward_mode='tensor',
    ratio=0.5,
    interval=250)
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=1500, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=1500, val_interval=1500)
default_hooks = dict(checkpoint=dict(interval=1500))
load_from = 'work_dirs/resnet20_fmnist_baseline/iter_4000.pth'
custom_hooks = [dict(type='PruningHook')]  # the method's step: zeroing every interval
