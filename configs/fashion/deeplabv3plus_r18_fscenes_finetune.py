# Fine-tune an export of the Fashion-scenes DeepLabV3+ R18 (tools/prune.py --out DIR) for the
# three quarters of the budget GDP's default leaves (450 it.):
#   python tools/train.py configs/fashion/deeplabv3plus_r18_fscenes_finetune.py \
#       --cfg-options model.plan=DIR/plan.json
_base_ = ['./deeplabv3plus_r18_fscenes_baseline.py']
model = dict(_delete_=True, type='PrunedModel', plan='work_dirs/fscenes_export/plan.json')
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=450,
                        by_epoch=False)]
train_cfg = dict(max_iters=450, val_interval=450)
default_hooks = dict(checkpoint=dict(interval=450))
