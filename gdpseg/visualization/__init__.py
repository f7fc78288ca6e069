"""Pictures of GDP training: gate histograms over time (paper Fig. 9), FLOPs curve (Fig. 11), a
study's trade-off and its GDP runs side by side."""
from .plots import (plot_flops_curve, plot_gate_histograms, plot_polarization, plot_tradeoff,
                    plot_training_runs)
from .seg_visualizer import ScaledSegVisualizer

__all__ = ['ScaledSegVisualizer', 'plot_flops_curve', 'plot_gate_histograms', 'plot_polarization',
           'plot_tradeoff', 'plot_training_runs']
