"""mmseg's shipped DeepLabV3+ R50-D8 VOC config, made buildable on CPU without downloads."""
from pathlib import Path

import mmseg
from mmengine import Config

MMSEG_CONFIGS = Path(mmseg.__file__).parent / '.mim' / 'configs'


def mmseg_deeplabv3plus_cfg():
    """The model config, BN instead of SyncBN, no pretrained weights, scope ``mmseg``."""
    cfg = Config.fromfile(
        MMSEG_CONFIGS / 'deeplabv3plus' / 'deeplabv3plus_r50-d8_4xb4-20k_voc12aug-512x512.py')
    model = cfg.model
    model.pretrained = None  # nothing is downloaded
    # SyncBN needs a process group; plain BN computes the same in eval mode.
    for part in (model.backbone, model.decode_head, model.auxiliary_head):
        part.norm_cfg = dict(type='BN', requires_grad=True)
    model._scope_ = 'mmseg'  # build the mmseg config in its own scope from gdpseg's registry
    return model
