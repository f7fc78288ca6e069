# Fine-tuning an export with one cycle of a large learning rate (CLR, as in Le & Hua, "Network
# pruning that matters"): linear warm-up to the baseline's 0.05 over the first quarter, cosine
# annealing to zero after, instead of the small cosine rate of digits_resnet20_cifar_finetune.py.
# (mmengine's OneCycleLR would do, but its checkpoints hold a function and cannot be read with
# weights_only=True.)
_base_ = ['./digits_resnet20_cifar_finetune.py']
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.02, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=150, by_epoch=False, begin=50, end=200, eta_min=0),
]
