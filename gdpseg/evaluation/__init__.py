"""Evaluation helpers: FLOPs as MMEngine counts them."""
from .flops import count_conv_linear_flops, count_flops

__all__ = ['count_conv_linear_flops', 'count_flops']
