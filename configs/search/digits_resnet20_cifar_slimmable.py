# Width search on the digits demo's ResNet-20: the slimmable network trained from the baseline
# for 200 iterations, then `tools/search.py ... --flops 0.5 --out DIR` (see
# resnet20_fmnist_slimmable.py for the three steps).
_base_ = ['../demo/digits_resnet20_cifar_baseline.py']
model = dict(
    _delete_=True,
    type='SlimmableNetwork',
    architecture=_base_.model,
    input_shape=(1, 3, 32, 32),
    forward_mode='tensor',
    min_share=0.25,
    num_random=2)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=200, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=200, val_interval=200)
default_hooks = dict(checkpoint=dict(interval=200))
load_from = 'work_dirs/digits_resnet20_cifar_baseline/iter_400.pth'
custom_hooks = [dict(type='PruningHook')]  # orders the channels once, on the loaded weights
