"""Pictures of GDP training: gate histograms over time (paper Fig. 9), FLOPs curve (Fig. 11), a
study's trade-off, its GDP runs side by side and its gated against fine-tuned metrics (Fig. 10)."""
from .plots import (plot_flops_curve, plot_gate_histograms, plot_gated_vs_final,
                    plot_polarization, plot_tradeoff, plot_training_runs)
from .seg_visualizer import ScaledSegVisualizer

__all__ = ['ScaledSegVisualizer', 'plot_flops_curve', 'plot_gate_histograms',
           'plot_gated_vs_final', 'plot_polarization', 'plot_tradeoff', 'plot_training_runs']
