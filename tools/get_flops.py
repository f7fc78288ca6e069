"""FLOPs and parameters of the model of a config (mmseg's own script is broken on mmengine 0.10).

The command line of :mod:`gdpseg.apis.get_flops` (usage, options: ``--help``). Errors of the
config, the data or the files are one line; ``--debug`` shows their traceback.
"""
from gdpseg.apis.get_flops import main  # noqa: F401
from gdpseg.utils.errors import run_tool

if __name__ == '__main__':
    run_tool(main)
