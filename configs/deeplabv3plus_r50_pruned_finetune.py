# Fine-tune an export of tools/prune.py on VOC aug: the pruned task model, rebuilt from
# DIR/plan.json + DIR/pruned_weights.pth (no gates, no pickle), 10k iterations at a tenth of the
# learning rate.
#   python tools/train.py configs/deeplabv3plus_r50_pruned_finetune.py \
#       --cfg-options model.plan=work_dirs/prune
_base_ = [
    '_base_/datasets/voc12aug_513.py', '_base_/schedules/poly_60k.py',
    '_base_/default_runtime.py'
]
model = dict(type='PrunedModel', plan='work_dirs/prune/plan.json')
optim_wrapper = dict(optimizer=dict(lr=0.001))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=1e-6, begin=0, end=10000, by_epoch=False)
]
train_cfg = dict(max_iters=10000, val_interval=1000)
