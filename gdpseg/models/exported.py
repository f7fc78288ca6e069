"""Load an exported (pruned) network as a model component of a config."""
import torch

from gdpseg.registry import MODELS


@MODELS.register_module()
def ExportedNetwork(path: str):  # noqa: N802  (a registry type name)
    """The plain module saved by ``tools/prune.py`` (``DIR/pruned.pth``), ready to train."""
    import os.path as osp

    if not osp.isfile(path):
        raise FileNotFoundError(f'no exported network at {path}: run tools/prune.py CONFIG '
                                'CHECKPOINT --out DIR first, then pass DIR/pruned.pth')
    return torch.load(path, map_location='cpu', weights_only=False)
