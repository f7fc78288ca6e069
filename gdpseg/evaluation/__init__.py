"""Evaluation helpers: FLOPs as MMEngine counts them; mmseg's IoU with a label-range check."""
from .flops import TensorMode, count_conv_linear_flops, count_flops
from .iou_metric import IoUMetric
from .style_metric import StyleLossMetric

__all__ = ['TensorMode', 'count_conv_linear_flops', 'count_flops', 'IoUMetric', 'StyleLossMetric']
