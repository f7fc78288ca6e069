# GDP on ResNet-50 / ImageNet from the baseline (paper section 4.1, "GDP*"): 140 epochs, cosine
# lr with label smoothing 0.1, ε ×0.9 per epoch, gate lr 0.1× the base lr without weight decay,
# α=1 and ε=0.1 at start; a FLOPs budget instead of a hand-tuned λ.
#   bash tools/dist_train.sh configs/cls/resnet50_imagenet_gdp.py 8
_base_ = ['./resnet50_imagenet_baseline.py']
architecture = _base_.model
architecture.head.loss = dict(type='LabelSmoothLoss', label_smooth_val=0.1, loss_weight=1.0)
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=architecture,
    input_shape=(1, 3, 224, 224),
    forward_mode='tensor',
    eps=0.1,
    init=1.0)
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=0.1))
param_scheduler = [dict(_delete_=True, type='CosineAnnealingLR', T_max=140, by_epoch=True,
                        eta_min=0)]
train_cfg = dict(max_epochs=140)
custom_hooks = [
    dict(type='GDPHook', lam=dict(type='TargetLambda', ratio=0.45), eps_factor=0.9,
         eps_period=1, by_epoch=True, min_gate_lr_sum=150),
    dict(type='GDPVisualHook', interval=100),
]
load_from = 'work_dirs/resnet50_imagenet_baseline/epoch_100.pth'
