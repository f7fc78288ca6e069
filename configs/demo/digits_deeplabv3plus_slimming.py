# Network Slimming on the segmentation demo baseline: sparsity training with the fine-tuning
# optimiser (AdamW), then one global |γ| threshold at half the FLOPs.
_base_ = ['./digits_deeplabv3plus_baseline.py']
model = dict(
    _delete_=True,
    type='NetworkSlimming',
    architecture=_base_.model,
    input_shape=(1, 3, 64, 64),
    forward_mode='tensor',
    ratio=0.5,
    sparsity=2e-2)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=300,
                        by_epoch=False)]
train_cfg = dict(max_iters=300, val_interval=300)
default_hooks = dict(checkpoint=dict(interval=300))
load_from = 'work_dirs/demo/baseline/iter_800.pth'
