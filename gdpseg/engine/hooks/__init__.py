from .finite_check_hook import FiniteCheckHook, TrainingDivergedError
from .gdp_hook import GDPHook
from .gdp_visual_hook import GDPVisualHook
from .rng_state_hook import RNGStateHook

__all__ = ['FiniteCheckHook', 'TrainingDivergedError', 'GDPHook', 'GDPVisualHook',
           'RNGStateHook']
