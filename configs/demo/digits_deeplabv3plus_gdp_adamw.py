# GDP on the segmentation demo with the optimiser that trained the baseline (AdamW) instead of
# the paper's SGD: this small network learns much more slowly with SGD (see the baseline), and
# short GDP runs spend their budget there. The gates share AdamW's parameter group settings
# (no weight decay); the proximal step uses the gates' current learning rate as η.
_base_ = ['./digits_deeplabv3plus_gdp_target.py']
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=5e-4, weight_decay=1e-4),
    constructor='GDPOptimWrapperConstructor',
    paramwise_cfg=dict(gate_lr_mult=1.0))
