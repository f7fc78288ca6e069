from .gdp_hook import GDPHook
from .gdp_visual_hook import GDPVisualHook
from .rng_state_hook import RNGStateHook

__all__ = ['GDPHook', 'GDPVisualHook', 'RNGStateHook']
