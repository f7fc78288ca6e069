"""Config loading shared by gdpseg's tools."""
import os.path as osp

from mmengine.config import Config


def load_config(path, cfg_options=None):
    """``Config.fromfile`` with ``--cfg-options`` merged; a missing file is a clear error."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config {path} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
