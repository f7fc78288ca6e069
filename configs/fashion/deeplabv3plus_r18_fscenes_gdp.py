# GDP on the Fashion-scenes DeepLabV3+ R18 (semi-synthetic segmentation) with a FLOPs budget,
# from the baseline; the gates' learning rate from its sum over the run (gate_lr_sum). A quarter
# of the budget for GDP (150 it.), three quarters for fine-tuning the export (450:
# deeplabv3plus_r18_fscenes_finetune.py), as chosen on the ResNet-20's validation split.
#   python tools/train.py configs/fashion/deeplabv3plus_r18_fscenes_gdp.py \
#       --cfg-options custom_hooks.0.lam.ratio=0.35
_base_ = ['./deeplabv3plus_r18_fscenes_baseline.py']
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=_base_.model,
    input_shape=(1, 3, 128, 128),
    forward_mode='tensor')
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    constructor='GDPOptimWrapperConstructor',
    paramwise_cfg=dict(gate_lr_mult=1.0))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=150,
                        by_epoch=False)]
train_cfg = dict(max_iters=150, val_interval=150)
custom_hooks = [
    dict(type='GDPHook', lam=dict(type='TargetLambda', ratio=0.5), eps_factor=0.9,
         eps_period=8, min_gate_lr_sum=150),
    dict(type='GDPVisualHook', interval=25),
]
default_hooks = dict(checkpoint=dict(interval=150))
load_from = 'work_dirs/deeplabv3plus_r18_fscenes_baseline/iter_3000.pth'
