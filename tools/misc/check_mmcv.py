"""Exit non-zero unless mmcv's compiled ops load against the installed torch."""
import sys

try:
    import torch
    from mmcv.ops import nms  # noqa: F401  (loads mmcv._ext)
except Exception as exc:  # ImportError or OSError: undefined symbol
    sys.exit(f'mmcv ops failed to load: {exc}')
print(f'mmcv ops load with torch {torch.__version__}')
