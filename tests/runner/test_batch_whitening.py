"""BWCP's batch whitening: whitened per group in training, folded exactly into the convolution
before its norm for the export, refused where it cannot fold."""
import warnings

import pytest
import torch
import torch.nn as nn

from gdpseg.engine.export_dir import export_model
from gdpseg.methods import BWCP
from gdpseg.methods.batch_whitening import BatchWhitening, newton_inverse_sqrt
from gdpseg.models import CifarResNet


def _group_covariance_error(x, group_size):
    """Largest |cov − I| over the per-group channel covariances of ``x`` (N, C, H, W)."""
    flat = x.transpose(0, 1).reshape(x.shape[1], -1)
    flat = flat - flat.mean(1, keepdim=True)
    worst = 0.0
    for start in range(0, x.shape[1], group_size):
        part = flat[start:start + group_size]
        cov = part @ part.t() / part.shape[1]
        worst = max(worst, float((cov - torch.eye(len(part))).abs().max()))
    return worst


def _correlated(n=256, channels=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(channels, channels, generator=g) + 2 * torch.eye(channels)
    z = torch.randn(n, channels, 4, 4, generator=g)
    return torch.einsum('oc,nchw->nohw', mix, z) + 3.0


def test_newton_iterations_give_the_inverse_square_root():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 6, 6, generator=g, dtype=torch.float64)
    cov = a @ a.transpose(1, 2) + 0.5 * torch.eye(6, dtype=torch.float64)
    w = newton_inverse_sqrt(cov, iters=40)
    eye = torch.eye(6, dtype=torch.float64).expand(3, 6, 6)
    assert torch.allclose(w @ cov @ w, eye, atol=1e-6)
    # few iterations whiten only partly (IterNorm's trade-off), more get closer
    err = [float((newton_inverse_sqrt(cov, t) @ cov @ newton_inverse_sqrt(cov, t) - eye)
                 .abs().max()) for t in (1, 3, 10)]
    assert err[0] > err[1] > err[2]


def test_training_output_is_whitened_per_group_where_batchnorm_only_standardises():
    x = _correlated()
    bn = nn.BatchNorm2d(12).train()
    standardised = bn(x).detach()
    # BatchNorm leaves the channels correlated: far from the identity
    assert _group_covariance_error(standardised, 4) > 0.3
    bw = BatchWhitening(bn, group_size=4, iters=30)
    white = bn(x).detach()
    assert _group_covariance_error(white, 4) < 2e-3
    # the affine parameters act on the whitened activation; groups are whitened each alone
    with torch.no_grad():
        bn.weight.fill_(2.0)
        bn.bias.fill_(1.0)
    assert torch.allclose(bn(x).detach(), 2 * white + 1, atol=1e-5)
    assert _group_covariance_error(white, 12) > 0.05
    # the running matrix moved from the identity towards the batches' whitening
    assert not torch.allclose(bw.running_whitening, torch.eye(4).expand(3, 4, 4))
    bw.remove()  # BatchNorm alone again
    assert torch.allclose(bn(x).detach(), 2 * standardised + 1, atol=1e-5)


def test_uneven_last_group_and_eval_mode_use_the_running_whitening():
    x = _correlated(channels=10)
    bn = nn.BatchNorm2d(10, momentum=None)  # cumulative averages
    bw = BatchWhitening(bn, group_size=4, iters=20)
    assert bw.running_whitening.shape == (3, 4, 4)
    bn.train()
    for _ in range(3):
        bn(x)
    bn.eval()
    white = bn(x).detach()
    # eval: the running statistics and whitening of the same batch whiten it again
    assert _group_covariance_error(white, 4) < 5e-3
    assert bw.matrix().shape == (10, 10)


def _trained_bwcp(whiten, steps=4, **kw):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the padded shortcut fixes the residual trunk
        model = BWCP(CifarResNet(20), ratio=0.5, input_shape=(1, 3, 32, 32), forward_mode=None,
                     whiten=whiten, whiten_group=8, **kw)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    model.train()
    for _ in range(steps):
        model.gates.resample()
        loss = model.architecture(torch.randn(16, 3, 32, 32)).logsumexp(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def test_bwcp_with_whitening_folds_and_exports_exactly():
    model = _trained_bwcp(['*'])
    assert len(model.whitening) == 9  # every prunable group's norm (the blocks' bn1)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():  # the whitening changes the output well beyond the fold's tolerance
        whitened = model.architecture(x)
        for w in model.whitening.values():
            w.remove()
        assert (model.architecture(x) - whitened).abs().max() > 1e-3 * whitened.abs().max()
    model = _trained_bwcp(['*'])
    with torch.no_grad():
        whitened = model.architecture(x)
    pruned, plan, diff = export_model(model, x)
    assert diff < 1e-5
    # the folded network computes what the whitened one did, and the export slices it
    assert not any(w.attached for w in model.whitening.values())
    with torch.no_grad():
        assert (model.architecture(x) - whitened).abs().max() < 1e-4 * whitened.abs().max()
    assert sum(p.numel() for p in pruned.parameters()) < \
        sum(p.numel() for p in model.architecture.parameters())
    assert not any(m._forward_hooks for m in pruned.modules())
    # the checkpoint keeps the running whitening; the architecture keeps its own keys
    state = _trained_bwcp(['layer2.*']).state_dict()
    assert 'whitening.layer2__0__bn1.running_whitening' in state
    assert not any(k.startswith('architecture.') and 'whitening' in k for k in state)


def test_bwcp_without_whitening_is_the_ablation():
    model = _trained_bwcp(())
    assert len(model.whitening) == 0
    pruned, _, diff = export_model(model, torch.randn(2, 3, 32, 32))
    assert diff < 1e-5


class _Depthwise(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.dw(self.conv(x)))))


class _SharedOutput(nn.Module):
    """The conv's output is read by its norm and by the sum after it: the whitening cannot
    fold into the conv without changing the sum."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        y = self.conv(x)
        return self.head(torch.relu(self.bn(y)) + y)


def test_whitening_refuses_what_it_cannot_fold():
    with pytest.raises(ValueError, match='matches no BatchNorm'):
        BWCP(CifarResNet(20), ratio=0.5, input_shape=(1, 3, 32, 32), forward_mode=None,
             whiten=['nothing.*'])
    with pytest.raises(ValueError, match=r"follow none: \['bn'\]"):
        BWCP(_Depthwise(), ratio=0.5, input_shape=(1, 3, 16, 16), forward_mode=None,
             whiten=['*'])
    torch.manual_seed(0)
    model = BWCP(_SharedOutput(), ratio=0.5, input_shape=(1, 3, 16, 16), forward_mode=None,
                 whiten=['*'], whiten_group=4)
    model.train()
    model.gates.resample()
    model.architecture(torch.randn(8, 3, 16, 16) * 3)  # a running whitening far from I
    model.eval()
    with pytest.raises(RuntimeError, match=r"read by more than its BatchNorm"):
        export_model(model, torch.randn(1, 3, 16, 16))


def test_bwcp_with_whitening_through_train_and_prune_tools(tmp_path, monkeypatch):
    from .test_runner import _tool
    from .test_training_time import BWCP_CFG, _write

    cfg = _write(tmp_path, 'bwcp_bw', BWCP_CFG.format(s=0.01) +
                 "model.update(whiten=['*layer2.*', '*layer3.*'], whiten_group=8)\n", monkeypatch)
    _tool('train').main([cfg, '--work-dir', str(tmp_path / 'run'), '--quiet',
                         '--cfg-options', 'randomness.seed=0'])
    ckpt = tmp_path / 'run' / 'iter_4.pth'
    state = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    running = state['whitening.net__layer2__0__bn1.running_whitening']
    assert not torch.allclose(running, torch.eye(8).expand_as(running))  # it was trained
    info = _tool('prune').main([cfg, str(ckpt), '--out', str(tmp_path / 'export'), '--no-onnx'])
    assert 0.4 <= info['flops']['ratio'] <= 0.5
    assert info['max_relative_difference_to_gated'] < 1e-5
    # the export rebuilds from the config and the plan (tools/test.py, fine-tuning): the fold
    # added no parameter the task model does not have
    from gdpseg.engine.export_dir import load_export
    rebuilt = load_export(str(tmp_path / 'export'))
    assert sum(p.numel() for p in rebuilt.parameters()) == info['params']['after']
    # ... and it is plain conv + BatchNorm: no whitening hook came along with the rebuilt
    # architecture (one did once: fine-tuning then trained a whitened network whose running
    # whitening no checkpoint kept, and the reloaded checkpoint lost 20-40 points)
    hooked = [n for n, m in rebuilt.named_modules() if m._forward_hooks]
    assert not hooked, hooked
    bn = next(m for n, m in rebuilt.named_modules() if n.endswith('layer2.0.bn1'))
    x = torch.randn(4, bn.num_features, 3, 3)
    rebuilt.train()
    torch.testing.assert_close(bn(x), torch.nn.functional.batch_norm(
        x, None, None, bn.weight, bn.bias, training=True, eps=bn.eps))
