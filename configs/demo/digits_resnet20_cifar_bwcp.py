# BWCP without batch whitening on the ResNet-20 baseline: every channel's output is multiplied
# by a relaxed-Bernoulli mask of its activation probability Φ(β/|γ|), the loss adds
# λ₁·Σ|γ| + λ₂·Σβ, then the channels with the largest probability are kept at half the FLOPs.
#   python tools/train.py configs/demo/digits_resnet20_cifar_bwcp.py
#   python tools/prune.py configs/demo/digits_resnet20_cifar_bwcp.py \
#       work_dirs/digits_resnet20_cifar_bwcp/iter_300.pth --out work_dirs/digits_bwcp_export
_base_ = ['./digits_resnet20_cifar_baseline.py']
model = dict(
    _delete_=True,
    type='BWCP',
    architecture=_base_.model,
    input_shape=(1, 3, 32, 32),
    forward_mode='tensor',
    ratio=0.5,
    # the paper: 1.2e-4 each over 200 CIFAR epochs; raised for a 200-300 iteration run as
    # Network Slimming's s is (digits_resnet20_cifar_slimming.py)
    lam_gamma=2e-2,
    lam_beta=2e-2,
    temperature=0.5)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=300, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=300, val_interval=300)
default_hooks = dict(checkpoint=dict(interval=300))
load_from = 'work_dirs/digits_resnet20_cifar_baseline/iter_400.pth'
