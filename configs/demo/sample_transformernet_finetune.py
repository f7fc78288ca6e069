# Style-transfer demo: fine-tune the export (tools/prune.py), rebuilt from its plan and weights
# (the export's config carries the loss network and the style image).
_base_ = ['./sample_transformernet_baseline.py']
model = dict(_delete_=True, type='PrunedModel',
             plan='work_dirs/sample_transformernet_gdp/export/plan.json')
train_cfg = dict(max_iters=50, val_interval=50)
default_hooks = dict(checkpoint=dict(interval=50))
