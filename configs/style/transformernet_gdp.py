# GDP on the style-transfer network from the baseline: only the TransformerNet is gated and
# pruned (the VGG-16 loss network is never traced). The paper gives no recipe for this task: the
# segmentation one is used (ε ×0.97 every 120 iterations, gate lr 9e-4), with a FLOPs budget.
#   python tools/train.py configs/style/transformernet_gdp.py
_base_ = ['./transformernet_baseline.py']
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=_base_.model,
    input_shape=(1, 3, 256, 256),
    forward_mode='tensor',
    eps=0.1,
    init=1.0)
optim_wrapper = dict(constructor='GDPOptimWrapperConstructor', paramwise_cfg=dict(gate_lr=9e-4))
train_cfg = dict(max_iters=20000)
custom_hooks = [
    dict(type='GDPHook', lam=dict(type='TargetLambda', ratio=0.5), eps_factor=0.97,
         eps_period=120),
    dict(type='GDPVisualHook', interval=50),
]
load_from = 'work_dirs/transformernet_baseline/iter_41000.pth'
