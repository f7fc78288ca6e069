"""Every model family: random zero patterns, export, outputs and FLOPs equal the gated model's."""
import warnings

import pytest
import torch
import torch.nn as nn
import torchvision

from gdpseg.core import prune
from gdpseg.evaluation import count_conv_linear_flops
from gdpseg.methods.gdp import attach_gates
from gdpseg.models import CifarResNet, DeepLabV3Plus, TransformerNet
from gdpseg.models.backbones import CifarMobileNetV2, MobileNetV1

from .helpers import Call, check_export, randomize_gates


def mmseg_deeplabv3plus():
    from gdpseg.registry import MODELS
    from gdpseg.utils import register_all_modules

    from ..mmseg_models import mmseg_deeplabv3plus_cfg

    register_all_modules()
    return MODELS.build(mmseg_deeplabv3plus_cfg())


def smp_deeplabv3plus():
    import segmentation_models_pytorch as smp

    return smp.DeepLabV3Plus(encoder_name='resnet34', encoder_weights=None, classes=21)


def _mmseg_tensor(model, inputs):
    return model(*inputs, mode='tensor')


# name: constructor, input shape, forward_fn
MODELS = {
    'resnet18': (lambda: torchvision.models.resnet18(num_classes=10), (2, 3, 64, 64), None),
    'resnet50': (lambda: torchvision.models.resnet50(num_classes=10), (2, 3, 64, 64), None),
    'mobilenet_v2': (lambda: torchvision.models.mobilenet_v2(num_classes=10), (2, 3, 64, 64),
                     None),
    'vgg16_bn': (lambda: torchvision.models.vgg16_bn(num_classes=10), (2, 3, 32, 32), None),
    'resnext50_32x4d': (lambda: torchvision.models.resnext50_32x4d(num_classes=10),
                        (1, 3, 64, 64), None),
    'regnet_y_400mf': (lambda: torchvision.models.regnet_y_400mf(num_classes=10), (2, 3, 64, 64),
                       None),
    'cifar_resnet56': (lambda: CifarResNet(56), (2, 3, 32, 32), None),
    'deeplabv3plus_paper': (lambda: DeepLabV3Plus(num_classes=21), (1, 3, 65, 65), None),
    'deeplabv3plus_mmseg': (mmseg_deeplabv3plus, (1, 3, 64, 64), _mmseg_tensor),
    'deeplabv3plus_smp': (smp_deeplabv3plus, (1, 3, 64, 64), None),
    'transformer_net': (TransformerNet, (1, 3, 64, 64), None),
    'mobilenet_v1': (lambda: _with_head(MobileNetV1(), 1024), (2, 3, 64, 64), None),
    'cifar_mobilenet_v2': (lambda: _with_head(CifarMobileNetV2(), 1280), (2, 3, 32, 32), None),
}
# A group to zero entirely: a residual block's inner group or an ASPP branch (VGG has neither:
# every group of a plain chain cuts the network, which would make the output constant).
WHOLE = {
    'resnet18': 'layer1.0.conv1', 'resnet50': 'layer1.0.conv2',
    'mobilenet_v2': 'features.3.conv.0.0', 'vgg16_bn': None, 'cifar_resnet56': 'layer1.0.conv1',
    'resnext50_32x4d': 'layer1.0.conv1',
    'regnet_y_400mf': 'trunk_output.block1.block1-0.f.a.0 (+1 coupled)',
    'deeplabv3plus_paper': 'classifier.aspp.convs.3.0',
    'deeplabv3plus_mmseg': 'decode_head.aspp_modules.3.pointwise_conv.conv',
    'deeplabv3plus_smp': 'decoder.aspp.0.convs.3.0.1', 'transformer_net': 'res2.conv1.conv2d',
    'mobilenet_v1': None, 'cifar_mobilenet_v2': '0.features.5.conv.0',
}


def _with_head(backbone, channels):
    """A classifier from a one-tuple backbone: pool and linear, as mmpretrain's head does."""
    return torch.nn.Sequential(backbone, _First(), torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten(), torch.nn.Linear(channels, 10))


class _First(torch.nn.Module):
    def forward(self, x):
        return x[0]


def _attach(name):
    ctor, shape, fn = MODELS[name]
    torch.manual_seed(0)
    model = ctor().eval()
    x = torch.randn(*shape)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        gates = attach_gates(model, (x,), forward_fn=fn)
    messages = [str(w.message) for w in caught if str(w.message).startswith('gdpseg')]
    return model, gates, shape, fn, messages


@pytest.mark.slow
@pytest.mark.parametrize('name', list(MODELS))
def test_random_zero_patterns_export_exactly(name):
    model, gates, shape, fn, messages = _attach(name)
    fixed = {g.name: g.reasons for g in gates.groups if not g.prunable}
    reasons = {r for rs in fixed.values() for r in rs}
    # Only the network's input and output are fixed, except ResNet-56's zero-padding shortcut.
    if name == 'cifar_resnet56':
        assert any('padding of the channel axis' in m for m in messages)
        assert sum(g.prunable for g in gates.groups) == 27  # every block's inner channels
    else:
        assert messages == []
        assert reasons == {'network input', 'network output'}, fixed
    whole = WHOLE[name]
    assert whole is None or whole in {g.name for g in gates.groups if g.prunable}
    for seed in (0, 1):
        randomize_gates(gates, seed, whole=(whole,) if seed == 0 else ())
        before = {k: v.clone() for k, v in model.state_dict().items()}
        check_export(model, gates, shape, fn, seed=seed)
        # export leaves the model and its gates as they were
        for k, v in model.state_dict().items():
            assert torch.equal(v, before[k]), k


def test_full_flops_match_mmengine_on_the_ungated_model():
    model, gates, shape, fn, _ = _attach('deeplabv3plus_paper')
    fresh = DeepLabV3Plus(num_classes=21)
    assert gates.full_flops() == count_conv_linear_flops(Call(fresh, None), (torch.zeros(shape),))
    assert gates.full_params() == sum(p.numel() for p in fresh.parameters())


def test_dead_aspp_branch_and_dead_residual_branch_lose_their_convolutions():
    model, gates, shape, _, _ = _attach('deeplabv3plus_paper')
    by_name = {g.name: g for g in gates.groups}
    branch = 'classifier.aspp.convs.3.0'  # the rate-18 branch
    inner = 'backbone.layer1.0.conv2'  # a bottleneck's middle group
    randomize_gates(gates, 3, zero_frac=0.3, whole=(branch, inner))
    pruned = check_export(model, gates, shape)
    # the branch's conv is gone: a carrier (crop + pool) keeps a 1-channel placeholder
    assert not any(isinstance(m, torch.nn.Conv2d) for m in pruned.classifier.aspp.convs[3])
    kept = [gates.live(g) or 1 for g in
            (by_name[f'classifier.aspp.convs.{i}.{0 if i < 4 else 1}'] for i in range(5))]
    proj = pruned.classifier.aspp.project[0].weight
    assert proj.shape[1] == sum(kept)
    start = sum(kept[:3])
    assert torch.all(proj[:, start:start + 1] == 0)  # the placeholder is read with weight 0
    # the residual branch collapses: conv2 silent, so conv1 (read only by conv2) goes too;
    # conv3 reads one zero-weighted placeholder: the block is identity + a constant
    block = pruned.backbone.layer1[0]
    assert not isinstance(block.conv1, torch.nn.Conv2d)
    assert not isinstance(block.conv2, torch.nn.Conv2d)
    assert block.conv3.in_channels == 1 and torch.all(block.conv3.weight == 0)
    assert gates.params() == sum(p.numel() for p in pruned.parameters())


@pytest.mark.slow
def test_export_is_plain_and_loads_without_gdpseg(tmp_path):
    import pickletools
    import subprocess
    import sys
    import zipfile

    model, gates, shape, _, _ = _attach('resnet18')
    randomize_gates(gates, 0)
    pruned = prune(model, gates)
    path = tmp_path / 'pruned.pth'
    torch.save(pruned, path)
    with zipfile.ZipFile(path) as zf:
        data = zf.read(next(n for n in zf.namelist() if n.endswith('data.pkl')))
    globals_ = [arg for op, arg, _ in pickletools.genops(data) if op.name in ('GLOBAL',
                                                                               'STACK_GLOBAL')]
    assert not any('gdpseg' in str(g) for g in globals_)
    assert not pruned._forward_pre_hooks and not any(m._forward_pre_hooks
                                                     for m in pruned.modules())
    x = torch.randn(1, 3, 64, 64)
    torch.save(x, tmp_path / 'x.pt')
    with torch.no_grad():
        torch.save(pruned.eval()(x), tmp_path / 'y.pt')
    code = (
        "import sys; sys.modules['gdpseg'] = None\n"  # any import of gdpseg fails
        "import torch\n"
        f"torch.set_num_threads({torch.get_num_threads()})\n"  # bit-equal needs the same threads
        f"m = torch.load(r'{path}', weights_only=False).eval()\n"
        f"x = torch.load(r'{tmp_path / 'x.pt'}'); y = torch.load(r'{tmp_path / 'y.pt'}')\n"
        "with torch.no_grad(): assert torch.equal(m(x), y)\n"
        "print('loaded', type(m).__module__)\n")
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert 'torchvision.models.resnet' in done.stdout


def test_dead_compute_is_not_counted_and_is_named():
    """Layers whose results no output uses (smp's PSPNet at encoder depth 3 runs the deeper
    stages and drops them) are not FLOPs: mmengine's counter and ONNX leave them out too."""
    from gdpseg.core import trace_groups

    class DroppedBranch(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 8, 3, padding=1)
            self.pool_conv, self.pool_bn = nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8)
            self.b = nn.Conv2d(8, 16, 3, padding=1)
            self.b2 = nn.Conv2d(16, 4, 1)
            self.c = nn.Conv2d(8, 2, 1)

        def forward(self, x):
            y = torch.relu(self.a(x))
            # an image-pooling branch (ASPP's): BatchNorm on 1x1, fails in training mode at
            # batch 1, as the trace must not run it
            y = y + self.pool_bn(self.pool_conv(y.mean((2, 3), keepdim=True)))
            self.b2(torch.relu(self.b(y)))  # computed, dropped
            return self.c(y)

    model, x = DroppedBranch().train(), torch.randn(1, 3, 16, 16)  # as the Runner builds it
    stats = model.pool_bn.running_mean.clone()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        groups = trace_groups(model, (x,))
    assert model.training and torch.equal(model.pool_bn.running_mean, stats)  # left as it was
    assert any('no output uses (b, b2)' in str(w.message) for w in caught)
    model.eval()
    assert groups.full_flops() == count_conv_linear_flops(model, (x,)) == 16 * 16 * (
        3 * 8 * 9 + 8 * 2) + 8 * 8
    assert {c.module for c in groups.counted_calls()} == {'a', 'pool_conv', 'c'}
