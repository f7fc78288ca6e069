from .gdp_constructor import GDPOptimWrapperConstructor

__all__ = ['GDPOptimWrapperConstructor']
