# Demo GDP run with a FLOPs budget instead of a hand-tuned λ: TargetLambda adapts λ so that
# training ends within 1 point above the requested share of the FLOPs.
#   python tools/train.py configs/demo/digits_deeplabv3plus_gdp_target.py \
#       --cfg-options "custom_hooks.0.lam.ratio=0.35"
_base_ = ['./digits_deeplabv3plus_gdp.py']
custom_hooks = [
    dict(type='GDPHook', lam=dict(type='TargetLambda', ratio=0.35), eps_factor=0.9,
         eps_period=20, min_gate_lr_sum=150),
    dict(type='GDPVisualHook', interval=10),
]
