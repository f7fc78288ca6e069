# BWCP without batch whitening on the segmentation demo baseline, with the fine-tuning
# optimiser (AdamW): relaxed-Bernoulli masks of each channel's activation probability
# Φ(β/|γ|), the loss adds λ₁·Σ|γ| + λ₂·Σβ, then the channels with the largest probability are
# kept at half the FLOPs.
_base_ = ['./digits_deeplabv3plus_baseline.py']
model = dict(
    _delete_=True,
    type='BWCP',
    architecture=_base_.model,
    input_shape=(1, 3, 64, 64),
    forward_mode='tensor',
    ratio=0.5,
    lam_gamma=2e-2,  # as Network Slimming's s in digits_deeplabv3plus_slimming.py
    lam_beta=2e-2,
    temperature=0.5)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-5, begin=0, end=300,
                        by_epoch=False)]
train_cfg = dict(max_iters=300, val_interval=300)
default_hooks = dict(checkpoint=dict(interval=300))
load_from = 'work_dirs/demo/baseline/iter_800.pth'
