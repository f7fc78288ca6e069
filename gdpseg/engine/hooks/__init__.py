from .anneal_hook import AnnealHook
from .bn_recalibration_hook import BNRecalibrationHook
from .finite_check_hook import FiniteCheckHook, TrainingDivergedError
from .label_check_hook import LabelCheckHook, LabelError
from .progress_bar_hook import ProgressBarHook
from .pruning_hook import PruningHook
from .rng_state_hook import RNGStateHook
from .soft_pruning_hook import SoftPruningHook
from .style_samples_hook import StyleSamplesHook

__all__ = ['AnnealHook', 'BNRecalibrationHook', 'FiniteCheckHook', 'TrainingDivergedError',
           'LabelCheckHook', 'LabelError', 'ProgressBarHook', 'PruningHook',
           'RNGStateHook', 'SoftPruningHook',
           'StyleSamplesHook']
