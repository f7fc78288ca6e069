# Fine-tune an exported model (tools/prune.py -> DIR/pruned.pth) on VOC aug: a plain network,
# no gates, 10k iterations at a tenth of the learning rate.
#   python tools/train.py configs/deeplabv3plus_r50_pruned_finetune.py \
#       --cfg-options model.network.path=work_dirs/prune/pruned.pth
_base_ = [
    '_base_/models/deeplabv3plus_r50_os16.py', '_base_/datasets/voc12aug_513.py',
    '_base_/schedules/poly_60k.py', '_base_/default_runtime.py'
]
model = dict(network=dict(_delete_=True, type='ExportedNetwork', path='work_dirs/prune/pruned.pth'))
optim_wrapper = dict(optimizer=dict(lr=0.001))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=1e-6, begin=0, end=10000, by_epoch=False)
]
train_cfg = dict(max_iters=10000, val_interval=1000)
