# GDP on MobileNet-V1 / ImageNet from the baseline (paper section 4.1): 140 epochs, lr 0.1
# decayed ×0.1 every 35 epochs, no label smoothing, ε ×0.9 per epoch, gate lr 0.1× the base lr
# without weight decay; a FLOPs budget (the paper's Fig. 5 spans several ratios; baseline 71.314).
#   bash tools/dist_train.sh configs/cls/mobilenetv1_imagenet_gdp.py 8
_base_ = ['./mobilenetv1_imagenet_baseline.py']
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=_base_.model,
    input_shape=(1, 3, 224, 224),
    forward_mode='tensor',
    eps=0.1,
    init=1.0)
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=0.1))
param_scheduler = [dict(_delete_=True, type='StepLR', by_epoch=True, step_size=35, gamma=0.1)]
train_cfg = dict(max_epochs=140)
custom_hooks = [
    dict(type='GDPHook', lam=dict(type='TargetLambda', ratio=0.5), eps_factor=0.9,
         eps_period=1, by_epoch=True, min_gate_lr_sum=150),
    dict(type='GDPVisualHook', interval=100),
]
load_from = 'work_dirs/mobilenetv1_imagenet_baseline/epoch_90.pth'
