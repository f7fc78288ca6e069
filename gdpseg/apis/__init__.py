"""The train -> prune -> test pipeline as functions: what the command-line tools (``tools/``),
the demo, the comparison of methods and the tests call. Each ``main(argv)`` takes the tool's
command line as a list, e.g. ``train.main(['configs/x.py', '--work-dir', 'w'])``."""
from . import get_flops, prune, search, test, train

__all__ = ['get_flops', 'prune', 'search', 'test', 'train']
