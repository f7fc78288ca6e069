"""Optimizer parameter groups for GDP: the gates get their own lr and no weight decay."""
from mmengine.optim import DefaultOptimWrapperConstructor

from gdpseg.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class GDPOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """MMEngine's default constructor plus a gate group.

    ``paramwise_cfg`` takes, besides MMEngine's keys (``custom_keys`` for a 0.1x backbone...):

    * ``gate_lr``: absolute learning rate of the gates (paper: 9e-4 for DeepLabV3+), or
    * ``gate_lr_mult``: a multiple of the base lr (paper: 0.1 for classification).

    Gates never get weight decay.
    """

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        paramwise_cfg = dict(paramwise_cfg or {})
        gate_lr = paramwise_cfg.pop('gate_lr', None)
        gate_lr_mult = paramwise_cfg.pop('gate_lr_mult', None)
        if gate_lr is not None and gate_lr_mult is not None:
            raise ValueError('give gate_lr or gate_lr_mult, not both')
        base_lr = optim_wrapper_cfg.get('optimizer', {}).get('lr')
        if gate_lr is not None:
            if not base_lr:
                raise ValueError('gate_lr needs optimizer.lr to turn into a multiplier')
            gate_lr_mult = gate_lr / base_lr
        custom = dict(paramwise_cfg.get('custom_keys', {}))
        gate_cfg = dict(lr_mult=1.0 if gate_lr_mult is None else gate_lr_mult)
        if optim_wrapper_cfg.get('optimizer', {}).get('weight_decay'):
            gate_cfg['decay_mult'] = 0.0  # (MMEngine refuses decay_mult without a weight decay)
        custom['gates.alphas'] = gate_cfg
        paramwise_cfg['custom_keys'] = custom
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
