# GDP's "naive SL0" ablation (paper Eq. 11) on the ResNet-20 baseline: no gates; the loss adds
# λ · R(g_ε(‖w‖)) / R_full over the filter norms, ε decays 100x, and the channels with the
# largest g are kept at half the FLOPs; fine-tune the export as the other exports.
_base_ = ['./digits_resnet20_cifar_baseline.py']
model = dict(
    _delete_=True,
    type='NaiveSL0',
    architecture=_base_.model,
    input_shape=(1, 3, 32, 32),
    forward_mode='tensor',
    ratio=0.5,
    lam=2.0,
    eps_final=0.01)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=300, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=300, val_interval=300)
custom_hooks = [dict(type='PruningHook')]  # the method's step: annealing
default_hooks = dict(checkpoint=dict(interval=300))
load_from = 'work_dirs/digits_resnet20_cifar_baseline/iter_400.pth'
