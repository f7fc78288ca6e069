# GDP landing on 12.1 % of the FLOPs (paper Table 3) without a λ sweep: TargetLambda adapts λ
# online so that training ends within 1 point above the target (it never prunes below it). The
# log and work_dir/gdp_flops_ratio.png show the scheduled and the reached ratio.
_base_ = ['../deeplabv3plus_r50_gdp.py']
custom_hooks = [
    dict(type='GDPHook', lam=dict(type='TargetLambda', ratio=0.121), eps_factor=0.97,
         eps_period=120, by_epoch=False, min_gate_lr_sum=150),
    dict(type='GDPVisualHook', interval=50),
]
