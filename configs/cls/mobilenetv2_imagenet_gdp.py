# GDP on MobileNet-V2 / ImageNet from the baseline (paper section 4.1): 140 epochs, cosine lr
# with label smoothing 0.1, ε ×0.9 per epoch, gate lr 0.1× the base lr without weight decay;
# a FLOPs budget (the paper's Fig. 9 run ends at 0.45).
#   bash tools/dist_train.sh configs/cls/mobilenetv2_imagenet_gdp.py 8
_base_ = ['./mobilenetv2_imagenet_baseline.py']
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
load_from = 'work_dirs/mobilenetv2_imagenet_baseline/epoch_300.pth'
