# Soft Filter Pruning on the segmentation demo baseline, with the fine-tuning optimiser (AdamW):
# every 50 iterations the filters with the smallest L1 norms (the same share in every group,
# half the FLOPs) are zeroed and may recover; the export drops the last zeroed ones.
_base_ = ['./digits_deeplabv3plus_baseline.py']
model = dict(
    _delete_=True,
    type='SoftFilterPruning',
    architecture=_base_.model,
    input_shape=(1, 3, 64, 64),
    forward_mode='tensor',
    ratio=0.5,
    interval=50)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=300,
                        by_epoch=False)]
train_cfg = dict(max_iters=300, val_interval=300)
custom_hooks = [dict(type='PruningHook')]  # the method's step: zeroing every interval
default_hooks = dict(checkpoint=dict(interval=300))
load_from = 'work_dirs/demo/baseline/iter_800.pth'
