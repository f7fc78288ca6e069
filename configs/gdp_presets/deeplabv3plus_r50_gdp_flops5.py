# λ aimed at 5.2 % remaining FLOPs (paper Table 3). λ weights R/R_full, so its effect does
# not depend on the model's size; the value is a starting point derived from the shrink budget
# η·λ·∂(R/R_full)/∂c over 60k iterations, not calibrated on VOC here: check the FLOPs curve
# (work_dir/gdp_flops_ratio.png) and scale λ.
_base_ = ['../deeplabv3plus_r50_gdp.py']
custom_hooks = [
    dict(type='GDPHook', lam=1600.0, eps_factor=0.97, eps_period=120, by_epoch=False),
    dict(type='GDPVisualHook', interval=50),
]
