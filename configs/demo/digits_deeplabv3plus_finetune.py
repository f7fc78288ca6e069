# Demo fine-tuning of the export (tools/prune.py): the pruned task model rebuilt from its plan
# and weights, no gates.
_base_ = ['./digits_deeplabv3plus_baseline.py']
model = dict(_delete_=True, type='PrunedModel', plan='work_dirs/demo/export/plan.json')
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=300,
                        by_epoch=False)]
train_cfg = dict(max_iters=300, val_interval=300)
default_hooks = dict(checkpoint=dict(interval=300))
