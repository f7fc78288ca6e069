"""gdpseg: prune convolutional networks with Gates with Differentiable Polarization (GDP).

`gdpseg.core` is the method (plain PyTorch); `gdpseg.registry` and `gdpseg.utils` connect it to
MMEngine. Importing the package registers nothing and changes no global state.
"""
from .version import __version__

__all__ = ['__version__']
