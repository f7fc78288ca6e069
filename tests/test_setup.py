"""The package skeleton: registries in scope gdpseg, and an mmseg model built inside that scope."""
import pytest
import torch
from mmengine import DefaultScope
from mmengine.registry import MODELS as ROOT_MODELS

from gdpseg import registry
from gdpseg.utils import register_all_modules

from .mmseg_models import mmseg_deeplabv3plus_cfg


def test_registries_are_gdpseg_children_of_mmengine():
    names = ['MODELS', 'HOOKS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'DATASETS',
             'TRANSFORMS', 'METRICS', 'VISBACKENDS', 'PARAM_SCHEDULERS', 'LOOPS']
    for name in names:
        reg = getattr(registry, name)
        assert reg.scope == 'gdpseg', name
        assert reg.parent is not None and reg.parent.scope == 'mmengine', name
    assert registry.MODELS.parent is ROOT_MODELS


def test_register_all_modules_sets_scope_and_registers_models():
    register_all_modules()
    assert DefaultScope.get_current_instance().scope_name == 'gdpseg'
    for name in ('DeepLabV3Plus', 'TransformerNet', 'CifarResNet'):
        assert registry.MODELS.get(name) is not None, name
    # mmseg's modules are reachable from the gdpseg scope with their scope prefix.
    assert registry.MODELS.get('mmseg.EncoderDecoder') is not None


def test_build_mmseg_deeplabv3plus_from_shipped_config_and_forward():
    register_all_modules()
    model = registry.MODELS.build(mmseg_deeplabv3plus_cfg()).eval()
    assert type(model).__name__ == 'EncoderDecoder'
    assert type(model.decode_head).__name__ == 'DepthwiseSeparableASPPHead'
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64), mode='tensor')
    # The decoder predicts at stride 4 (the low-level features): 16x16 for a 64x64 input.
    assert out.shape == (1, 21, 16, 16)
    assert torch.isfinite(out).all()
    with pytest.raises(KeyError):
        registry.MODELS.build(dict(type='NoSuchSegmentor'))
