"""Deployment: ONNX export checked with ONNX Runtime, and a measured latency model (registered
as the resource ``'latency'``)."""
from .latency import LatencyResource, Timer, load_table, measure_latency_table
from .onnx import FlatOutputs, check_onnx, export_onnx, onnx_available

__all__ = ['FlatOutputs', 'export_onnx', 'check_onnx', 'onnx_available', 'LatencyResource',
           'Timer', 'load_table', 'measure_latency_table']
