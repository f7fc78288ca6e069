"""The fast subset of tools/benchmark/model_sweep.py: the model families behind the engine's
rules (grouped convs, module-held split sizes, weight standardisation, GroupNorm, a head sharing
convs across levels, RoIAlign) export exactly and count FLOPs as mmengine does."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('model_sweep',
                                               ROOT / 'tools' / 'benchmark' / 'model_sweep.py')
sweep = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sweep)

# the least share of channels each must keep prunable, and what must stay fixed
EXPECTED = {
    'tv:regnet_x_400mf': (0.99, None),
    'timm:mixnet_s': (0.99, None),
    'timm:nf_resnet26': (0.0, 'weight computed at run time'),
    'smp:FPN:resnet18': (0.99, None),
    'mmdet:rtmdet/rtmdet_tiny_8xb32-300e_coco.py': (0.95, None),
    'mmdet:faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py': (0.4, 'RoIAlignFunction'),
}


@pytest.mark.slow
@pytest.mark.parametrize('spec', sweep.FAST)
def test_fast_sweep_subset_is_exact(spec):
    r = sweep.sweep_one(spec)
    assert r['diff'] <= 1e-4, r
    assert r['flops'] == r['counted'] and r['full_ok'], r
    share, fixed = EXPECTED[spec]
    assert r['channels'] >= share * r['total'], r
    if fixed:
        assert fixed in r['fixed'], r
