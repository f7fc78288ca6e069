# GDP on mmseg's own DeepLabV3+ R50-D8 VOC config (ResNetV1c, OS8, depthwise-separable ASPP,
# auxiliary FCN head). The mmseg config keeps its scope; gdpseg's parts are named with the
# `gdpseg.` prefix. The auxiliary FCN head is traced and pruned with the backbone (it reads
# layer3) but left out of FLOPs: it only runs in training.
_base_ = ['_base_/models/mmseg_deeplabv3plus_r50-d8_voc12aug.py']  # mmseg's, offline
architecture = _base_.model
model = dict(
    _delete_=True,
    type='gdpseg.GDPAlgorithm',
    architecture=architecture,
    input_shape=(1, 3, 512, 512),
    forward_mode='tensor')
optim_wrapper = dict(
    constructor='gdpseg.GDPOptimWrapperConstructor',
    paramwise_cfg=dict(gate_lr_mult=0.1))
custom_hooks = [
    dict(type='gdpseg.GDPHook', lam=400.0, eps_factor=0.97, eps_period=120),
    dict(type='gdpseg.GDPVisualHook', interval=50),
    dict(type='gdpseg.RNGStateHook'),
    dict(type='gdpseg.FiniteCheckHook'),
    dict(type='gdpseg.LabelCheckHook'),
]
# mmseg's DeepLabV3+ R50-D8 VOC aug checkpoint (from its model zoo or your own mmseg run), as a
# local file; tools/train.py says so when it is absent.
load_from = 'checkpoints/deeplabv3plus_r50-d8_512x512_20k_voc12aug.pth'
