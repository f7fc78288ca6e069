"""Exports (``tools/prune.py``) as model components of a config, e.g. to fine-tune them."""
import os.path as osp
import warnings

import torch

from gdpseg.registry import MODELS


@MODELS.register_module()
def PrunedModel(plan: str, reinit: bool = False):  # noqa: N802  (a registry type name)
    """The pruned task model of an export (``DIR`` or ``DIR/plan.json``), ready to train.

    Rebuilt from the export's config and plan, weights loaded without pickle; it keeps the
    task model's data preprocessor, losses and modes.

    Args:
        plan: The export.
        reinit: Keep only the architecture: every layer's parameters and BatchNorm statistics
            are reset (``reset_parameters()``, PyTorch's default initialisation, from the run's
            seed), to train the pruned architecture from scratch ("Rethinking the value of
            network pruning"; with a uniform plan: a width-multiplier network).
    """
    from gdpseg.engine.export_dir import load_export

    model = load_export(plan)
    if reinit:
        reset = 0
        for module in model.modules():
            if callable(getattr(module, 'reset_parameters', None)):
                module.reset_parameters()
                reset += 1
        if not reset:
            raise ValueError(f'reinit=True, but no layer of {plan} has reset_parameters()')
    return model.train()


@MODELS.register_module()
def ExportedNetwork(path: str, trust_pickle: bool = False):  # noqa: N802
    """A pickled network (``DIR/pruned.pth``). Unpickling can run arbitrary code, so it needs
    ``trust_pickle=True``; prefer ``dict(type='PrunedModel', plan='DIR/plan.json')``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'no exported network at {path}: run tools/prune.py CONFIG '
                                'CHECKPOINT --out DIR first')
    if not trust_pickle:
        raise ValueError(f'{path} is a pickled module, and loading a pickle can run code. Use '
                         "model=dict(type='PrunedModel', plan='DIR/plan.json') (no pickle), or "
                         'set trust_pickle=True for a file you made yourself')
    warnings.warn(f'gdpseg: unpickling {path} (trust_pickle=True): this runs any code the file '
                  'contains', stacklevel=2)
    return torch.load(path, map_location='cpu', weights_only=False)
