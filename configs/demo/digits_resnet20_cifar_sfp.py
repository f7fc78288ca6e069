# Soft Filter Pruning of the ResNet-20 baseline: every 50 iterations the filters with the
# smallest L1 norms (the same share in every group, half the FLOPs) are zeroed and may recover;
# the export drops the last zeroed ones; fine-tune it as the other exports.
#   python tools/train.py configs/demo/digits_resnet20_cifar_sfp.py
#   python tools/prune.py configs/demo/digits_resnet20_cifar_sfp.py \
#       work_dirs/digits_resnet20_cifar_sfp/iter_300.pth --out work_dirs/digits_sfp_export
_base_ = ['./digits_resnet20_cifar_baseline.py']
model = dict(
    _delete_=True,
    type='SoftFilterPruning',
    architecture=_base_.model,
    input_shape=(1, 3, 32, 32),
    forward_mode='tensor',
    ratio=0.5,
    interval=50)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=300, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=300, val_interval=300)
custom_hooks = [dict(type='PruningHook')]  # the method's step: zeroing every interval
default_hooks = dict(checkpoint=dict(interval=300))
load_from = 'work_dirs/digits_resnet20_cifar_baseline/iter_400.pth'
