"""Export a trained pruning checkpoint (GDP) to a plain, pruned network.

The command line of :mod:`gdpseg.apis.prune` (usage, options: ``--help``). Errors of the
config, the data or the files are one line; ``--debug`` shows their traceback.
"""
from gdpseg.apis.prune import main  # noqa: F401
from gdpseg.utils.errors import run_tool

if __name__ == '__main__':
    run_tool(main)
