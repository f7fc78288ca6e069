# Fine-tune an export of the Fashion-MNIST ResNet-20 (tools/prune.py --out DIR):
#   python tools/train.py configs/fashion/resnet20_fmnist_finetune.py \
#       --cfg-options model.plan=DIR/plan.json
_base_ = ['./resnet20_fmnist_baseline.py']
model = dict(_delete_=True, type='PrunedModel',
             plan='work_dirs/fmnist_export/plan.json')
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=1500, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=1500, val_interval=1500)
default_hooks = dict(checkpoint=dict(interval=1500))
