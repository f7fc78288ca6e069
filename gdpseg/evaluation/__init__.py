"""Evaluation helpers: FLOPs as MMEngine counts them."""
from .flops import TensorMode, count_conv_linear_flops, count_flops

__all__ = ['TensorMode', 'count_conv_linear_flops', 'count_flops']
