from .gdp_hook import GDPHook
from .gdp_visual_hook import GDPVisualHook

__all__ = ['GDPHook', 'GDPVisualHook']
