# GDP on DeepLabV3+ R50 (OS16), Pascal VOC aug -- the paper's setting (section 4.1):
# 60k iterations, batch 16, SGD 0.01 (backbone 0.1x), poly 0.9, ε x0.97 every 120 iterations,
# gate lr 9e-4 without weight decay, α=1 and ε=0.1 at start, from a trained baseline.
#   python tools/train.py configs/deeplabv3plus_r50_gdp.py
# λ weights the normalised FLOPs; the presets in configs/gdp_presets/ aim at the paper's ratios.
_base_ = [
    '_base_/models/deeplabv3plus_r50_os16.py', '_base_/datasets/voc12aug_513.py',
    '_base_/schedules/poly_60k.py', '_base_/default_runtime.py'
]
architecture = _base_.model  # the task model of the baseline config
model = dict(
    _delete_=True,
    type='GDPAlgorithm',
    architecture=architecture,
    input_shape=(1, 3, 513, 513),  # the trace's demo input: FLOPs are counted at this size
    forward_mode='tensor',
    eps=0.1,
    init=1.0)
optim_wrapper = dict(
    constructor='GDPOptimWrapperConstructor',
    paramwise_cfg=dict(gate_lr=9e-4, custom_keys={'backbone': dict(lr_mult=0.1)}))
custom_hooks = [
    dict(type='GDPHook', lam=400.0, eps_factor=0.97, eps_period=120, by_epoch=False),
    dict(type='GDPVisualHook', interval=50),
]
load_from = 'work_dirs/deeplabv3plus_r50_baseline_voc/iter_30000.pth'
