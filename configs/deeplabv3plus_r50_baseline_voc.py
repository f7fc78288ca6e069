# The baseline the GDP run starts from: DeepLabV3+ R50 (OS16) on VOC aug, 30k iterations as in
# the public implementation. Its last checkpoint is `load_from` of deeplabv3plus_r50_gdp.py.
#   python tools/train.py configs/deeplabv3plus_r50_baseline_voc.py
_base_ = [
    '_base_/models/deeplabv3plus_r50_os16.py', '_base_/datasets/voc12aug_513.py',
    '_base_/schedules/poly_60k.py', '_base_/default_runtime.py'
]
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=1e-6, begin=0, end=30000, by_epoch=False)
]
train_cfg = dict(max_iters=30000)
