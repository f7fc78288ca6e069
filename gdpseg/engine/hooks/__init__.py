from .anneal_hook import AnnealHook
from .bn_recalibration_hook import BNRecalibrationHook
from .finite_check_hook import FiniteCheckHook, TrainingDivergedError
from .gdp_hook import GDPHook
from .gdp_visual_hook import GDPVisualHook
from .label_check_hook import LabelCheckHook, LabelError
from .progress_bar_hook import ProgressBarHook
from .rng_state_hook import RNGStateHook
from .soft_pruning_hook import SoftPruningHook
from .style_samples_hook import StyleSamplesHook

__all__ = ['AnnealHook', 'BNRecalibrationHook', 'FiniteCheckHook', 'TrainingDivergedError',
           'GDPHook', 'GDPVisualHook', 'LabelCheckHook', 'LabelError', 'ProgressBarHook', 'RNGStateHook', 'SoftPruningHook',
           'StyleSamplesHook']
