# Classification demo: fine-tune the export (tools/prune.py), rebuilt from its plan and weights.
_base_ = ['./digits_resnet20_cifar_baseline.py']
model = dict(_delete_=True, type='PrunedModel',
             plan='work_dirs/digits_resnet20_cifar_gdp/export/plan.json')
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=200, by_epoch=False, eta_min=0)]
train_cfg = dict(max_iters=200, val_interval=200)
default_hooks = dict(checkpoint=dict(interval=200))
