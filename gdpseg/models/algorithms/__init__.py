from .gdp_algorithm import GDPAlgorithm

__all__ = ['GDPAlgorithm']
