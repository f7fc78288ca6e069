# GDP on ResNet-56 / CIFAR-10 from the baseline (paper section 4.1): 350 epochs, ε ×0.96 per
# epoch, gate lr 0.1× the base lr without weight decay, cosine lr, α=1 and ε=0.1 at start. The
# budget is a FLOPs ratio (TargetLambda): the paper's Table 2 rows are 46.65 % (93.97 % top-1,
# baseline 93.9) and 34.36 % (93.55 %).
#   python tools/train.py configs/cls/resnet56_cifar10_gdp.py
_base_ = ['./resnet56_cifar10_baseline.py']
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=_base_.model,
    input_shape=(1, 3, 32, 32),
    forward_mode='tensor',
    eps=0.1,
    init=1.0)
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=0.1))
custom_hooks = [
    dict(type='GDPHook', lam=dict(type='TargetLambda', ratio=0.4665), eps_factor=0.96,
         eps_period=1, by_epoch=True, min_gate_lr_sum=150),
    dict(type='GDPVisualHook', interval=50),
]
load_from = 'work_dirs/resnet56_cifar10_baseline/epoch_350.pth'
