"""Evaluate a checkpoint (gated or baseline) or an export of tools/prune.py, for any task.

The command line of :mod:`gdpseg.apis.test` (usage, options: ``--help``). Errors of the
config, the data or the files are one line; ``--debug`` shows their traceback.
"""
from gdpseg.apis.test import main  # noqa: F401
from gdpseg.utils.errors import run_tool

if __name__ == '__main__':
    run_tool(main)
