# Style-transfer demo with GDP: the demo TransformerNet gated from its checkpoint and pruned to
# half its FLOPs (TargetLambda); the random-weight VGG loss network is never gated.
_base_ = ['./sample_transformernet_baseline.py']
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=_base_.model,
    input_shape=(1, 3, 64, 64),
    forward_mode='tensor')
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor',
                     paramwise_cfg=dict(gate_lr_mult=1.0))
train_cfg = dict(max_iters=100, val_interval=100)
custom_hooks = [
    dict(type='GDPHook', lam=dict(type='TargetLambda', ratio=0.5), eps_factor=0.9,
         eps_period=10),
    dict(type='GDPVisualHook', interval=10),
]
load_from = 'work_dirs/sample_transformernet_baseline/iter_100.pth'
