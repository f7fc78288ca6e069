# Fine-tune an export of the Fashion-MNIST EfficientNet-Lite0 (tools/prune.py --out DIR):
#   python tools/train.py configs/fashion/efficientnet_lite0_fmnist_finetune.py \
#       --cfg-options model.plan=DIR/plan.json
_base_ = ['./efficientnet_lite0_fmnist_baseline.py']
model = dict(_delete_=True, type='PrunedModel', plan='work_dirs/lite0_l1/plan.json')
optim_wrapper = dict(optimizer=dict(lr=0.005))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=750, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=750, val_interval=750)
default_hooks = dict(checkpoint=dict(interval=750))
