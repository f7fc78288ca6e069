# GDP's "naive SL0" ablation (paper Eq. 11) on the segmentation demo baseline, with the
# fine-tuning optimiser (AdamW): no gates; the loss adds λ · R(g_ε(‖w‖)) / R_full over the
# filter norms, ε decays 100x, and the channels with the largest g are kept at half the FLOPs.
_base_ = ['./digits_deeplabv3plus_baseline.py']
model = dict(
    _delete_=True,
    type='NaiveSL0',
    architecture=_base_.model,
    input_shape=(1, 3, 64, 64),
    forward_mode='tensor',
    ratio=0.5,
    lam=2.0,
    eps_final=0.01)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=300,
                        by_epoch=False)]
train_cfg = dict(max_iters=300, val_interval=300)
custom_hooks = [dict(type='PruningHook')]  # the method's step: annealing
default_hooks = dict(checkpoint=dict(interval=300))
load_from = 'work_dirs/demo/baseline/iter_800.pth'
