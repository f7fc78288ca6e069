# Network Slimming on the ResNet-20 baseline: sparsity training (an L1 penalty on the BatchNorm
# scales), then one global |γ| threshold at half the FLOPs, then fine-tuning of the export.
#   python tools/train.py configs/demo/digits_resnet20_cifar_slimming.py
#   python tools/prune.py configs/demo/digits_resnet20_cifar_slimming.py \
#       work_dirs/digits_resnet20_cifar_slimming/iter_300.pth --out work_dirs/digits_slim_export
#   python tools/train.py configs/demo/digits_resnet20_cifar_finetune.py \
#       --cfg-options model.plan=work_dirs/digits_slim_export/plan.json
_base_ = ['./digits_resnet20_cifar_baseline.py']
model = dict(
    _delete_=True,
    type='NetworkSlimming',
    architecture=_base_.model,
    input_shape=(1, 3, 32, 32),
    forward_mode='tensor',
    ratio=0.5,
    # the paper: 1e-4 at lr 0.1 over 160 CIFAR epochs (64k iterations); this run is 200-300
    # iterations at lr <= 0.05, so s is raised to move γ about as far
    sparsity=2e-2)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=300, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=300, val_interval=300)
default_hooks = dict(checkpoint=dict(interval=300))
load_from = 'work_dirs/digits_resnet20_cifar_baseline/iter_400.pth'
