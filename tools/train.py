"""Train a model (GDP or baseline) from a config with MMEngine's Runner.

The command line of :mod:`gdpseg.apis.train` (usage, options: ``--help``). Errors of the
config, the data or the files are one line; ``--debug`` shows their traceback.
"""
from gdpseg.apis.train import main, resume_checkpoint  # noqa: F401
from gdpseg.utils.errors import run_tool

if __name__ == '__main__':
    run_tool(main)
