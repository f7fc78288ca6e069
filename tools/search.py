"""Search a slimmable network's widths under a FLOPs or latency budget and export them.

The command line of :mod:`gdpseg.apis.search` (usage, options: ``--help``). Errors of the
config, the data or the files are one line; ``--debug`` shows their traceback.
"""
from gdpseg.apis.search import main  # noqa: F401
from gdpseg.utils.errors import run_tool

if __name__ == '__main__':
    run_tool(main)
