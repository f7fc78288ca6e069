"""One-shot baselines (L1, |γ|, random; uniform or global) on the same groups and export."""
import math

import pytest
import torch

from gdpseg.core import plan_flops
from gdpseg.core.verify import export_difference
from gdpseg.engine.export_dir import export_model
from gdpseg.methods import OneShotPruning, plan_at_ratio
from gdpseg.models import CifarResNet

from .test_runner import ROOT, _tool


def _pruner(**kw):
    torch.manual_seed(0)
    return OneShotPruning(CifarResNet(20).eval(), input_shape=(2, 3, 32, 32), forward_mode=None,
                          **kw).eval()


@pytest.mark.parametrize('score', ['l1', 'bn', 'random'])
@pytest.mark.parametrize('scope', ['uniform', 'global'])
@pytest.mark.parametrize('ratio', [0.6, 0.35])
def test_plans_land_at_the_ratio_and_export_exactly(score, scope, ratio):
    model = _pruner(ratio=ratio, score=score, scope=scope)
    with torch.no_grad():  # BN scales that differ between channels, for the |γ| score
        for m in model.architecture.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.1, 1.0)
    groups = model.channel_groups
    plan = model.plan()
    reached = plan_flops(groups, plan) / groups.full_flops()
    assert ratio - 0.05 <= reached <= ratio
    x = torch.randn(2, 3, 32, 32)
    assert export_difference(groups, plan, (x,)) < 1e-5
    pruned, _, diff = export_model(model, x)
    assert diff == 0 or diff < 1e-6  # no factors: the export computes the same function
    if scope == 'uniform':  # the same share of every prunable group (up to rounding)
        shares = [len(k) / g.size for g, k in zip(groups.groups, plan.keep) if g.prunable]
        assert max(shares) - min(shares) <= max(1 / g.size for g in groups.groups
                                                if g.prunable) + 1e-9


@pytest.mark.parametrize('ratio', [0.1, 0.25])
def test_uniform_fills_the_budget_its_rounding_leaves(ratio):
    model = _pruner(ratio=ratio)
    groups = model.channel_groups

    def reached(plan):
        return plan_flops(groups, plan) / groups.full_flops()

    filled = model.plan()
    rounded = plan_at_ratio(groups, model.scores(), ratio, fill=False)
    assert reached(rounded) <= reached(filled) <= ratio
    # the last channel that fits: within one 16-channel group's share of the budget
    assert reached(filled) >= ratio - 0.01, (reached(rounded), reached(filled))
    shares = [len(k) / g.size for g, k in zip(groups.groups, filled.keep) if g.prunable]
    assert max(shares) - min(shares) <= 2 / 16 + 1e-9  # still close to one share


def test_l1_and_gamma_keep_the_best_scored_channels():
    model = _pruner(ratio=0.5, score='l1')
    arch, groups = model.architecture, model.channel_groups
    conv = dict(arch.named_modules())['layer1.0.conv1']
    i = next(i for i, g in enumerate(groups.groups) if 'layer1.0.conv1' in g.producers)
    with torch.no_grad():
        conv.weight.mul_(0).add_(torch.arange(conv.out_channels, dtype=torch.float)
                                 .view(-1, 1, 1, 1))  # channel c has norm ∝ c
    keep = model.plan().keep[i]
    assert torch.equal(keep, torch.arange(conv.out_channels - len(keep), conv.out_channels))
    bn = dict(arch.named_modules())['layer1.0.bn1']
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(1, 0.1, bn.num_features))  # the first channels count
    model.score = 'bn'
    keep = model.plan().keep[i]
    assert torch.equal(keep, torch.arange(len(keep)))


def test_unreachable_ratios_and_unknown_scores_are_named():
    with pytest.raises(ValueError, match="score must be one of"):
        _pruner(ratio=0.5, score='taylor')
    model = _pruner(ratio=0.5)
    with pytest.raises(ValueError, match='cannot be reached'):
        plan_at_ratio(model.channel_groups, model.scores(), 0.001)
    with pytest.raises(ValueError, match='scope'):
        plan_at_ratio(model.channel_groups, model.scores(), 0.5, scope='layer')


def test_tools_prune_exports_a_baseline_checkpoint_with_the_l1_config(tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from gdpseg.registry import MODELS
    from gdpseg.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(ROOT / 'configs' / 'demo' / 'digits_resnet20_cifar_baseline.py')
    with DefaultScope.overwrite_default_scope('gdpseg'):
        baseline = MODELS.build(cfg.model)
    ckpt = tmp_path / 'baseline.pth'
    torch.save({'state_dict': baseline.state_dict(), 'meta': {}}, ckpt)
    info = _tool('prune').main([str(ROOT / 'configs' / 'demo' / 'digits_resnet20_cifar_l1.py'),
                                str(ckpt), '--out', str(tmp_path / 'export'), '--no-onnx'])
    assert 0.45 <= info['flops']['ratio'] <= 0.5
    assert (tmp_path / 'export' / 'plan.json').is_file()
    assert math.isclose(info['max_relative_difference_to_gated'], 0, abs_tol=1e-5)
