"""Export a trained pruning checkpoint (GDP) to a plain, pruned network.

    python tools/prune.py CONFIG CHECKPOINT --out DIR [--recalibrate-bn N]
                          [--cfg-options k=v ...]

Writes to DIR:
  plan.json            channels kept per group, with the config it applies to (config.py)
  pruned_weights.pth   state_dict of the pruned task model (loads with weights_only=True);
                       tools/test.py CONFIG DIR and model=dict(type='PrunedModel', plan=DIR)
                       rebuild the model from these two, without pickle
  pruned.pth           the pruned network as a pickled module, to use where gdpseg is not
                       installed (torch.load(path, weights_only=False): trusted files only)
  structure.json, report.txt   FLOPs and parameters before/after, groups, ASPP branches
  pruned.onnx          the pruned network in ONNX (dynamic batch; every output of the network's
                       tensor mode, flattened), checked with ONNX Runtime against the gated
                       model at batch 1 and 2; --no-onnx skips it

The export is checked against the gated model first. ``--recalibrate-bn N`` then re-estimates
its BatchNorm statistics on N batches of the config's training data (use it when an export
scores far below its training accuracy: statistics gone stale in a short or strong run); the
saved export then differs from the gated model by design, and plan.json says so.
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import DictAction
from mmengine.registry import DefaultScope

from gdpseg.core import plan_params
from gdpseg.deploy import FlatOutputs, check_onnx, export_onnx, onnx_available
from gdpseg.deploy.onnx import DEFAULT_OPSET
from gdpseg.engine.checkpoint import load_weights
from gdpseg.engine.export_dir import export_model, save_export, structure, write_report
from gdpseg.engine.tasks import task_for
from gdpseg.evaluation import TensorMode, count_conv_linear_flops
from gdpseg.models.algorithms.base import tensor_mode
from gdpseg.registry import MODELS
from gdpseg.utils import load_config, register_all_modules


ONNX_FILE = 'pruned.onnx'
ONNX_TOLERANCE = 1e-4


def recalibrate(cfg, pruned, num_batches, transform=None):
    """Re-estimate the export's BN statistics on training batches of the config (each passed
    through ``transform`` after the data preprocessor, when given)."""
    from mmengine.runner import Runner

    from gdpseg.engine.bn_recalibration import (mmengine_batches, recalibrate_bn,
                                                tensor_forward)
    from gdpseg.engine.tasks import check_data

    check_data(cfg.train_dataloader)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'gdpseg')):
        loader = Runner.build_dataloader(cfg.train_dataloader)
    used = recalibrate_bn(pruned, mmengine_batches(pruned, loader, num_batches, transform),
                          tensor_forward)
    print(f'BN statistics of the export re-estimated on {used} training batches')
    return used


def load_pruning_model(config, checkpoint, cfg_options=None):
    """``(cfg, model)``: the pruning model a config builds, with a checkpoint's weights, in
    eval mode; clear errors for a missing checkpoint or a config of a plain task model."""
    register_all_modules(init_default_scope=False)
    cfg = load_config(config, cfg_options)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'gdpseg')):
        model = MODELS.build(cfg.model)
    if not (hasattr(model, 'plan') and hasattr(model, 'channel_groups')):
        raise ValueError(f'the config builds a {type(model).__name__}, not a pruning model: '
                         "wrap the task model in model=dict(type='GDPAlgorithm', "
                         "architecture=...) (or type='OneShotPruning', ratio=..., "
                         "score='l1' for a one-shot baseline)")
    load_weights(model, checkpoint)
    return cfg, model.eval()


def main(argv=None):
    parser = argparse.ArgumentParser(description='Export a pruned network from a checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--recalibrate-bn', type=int, default=0, metavar='N',
                        help='re-estimate BN statistics of the export on N training batches')
    parser.add_argument('--no-onnx', action='store_true', help='do not write pruned.onnx')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET, help='ONNX opset')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--debug', action='store_true',
                        help='show the traceback of an error in the config, data or files')
    args = parser.parse_args(argv)
    cfg, model = load_pruning_model(args.config, args.checkpoint, args.cfg_options)
    groups = model.channel_groups
    example = torch.randn(model.input_shape, generator=torch.Generator().manual_seed(1))
    pruned, plan, diff = export_model(model, example)
    os.makedirs(args.out, exist_ok=True)
    before = groups.full_flops()
    after = count_conv_linear_flops(TensorMode(pruned), (example,))
    info = structure(groups, plan, before, after, groups.full_params(),
                     sum(p.numel() for p in pruned.parameters()))
    if info['params']['after'] != plan_params(groups, plan):
        raise RuntimeError('parameter count of the export differs from its plan')
    info['max_relative_difference_to_gated'] = diff
    info['input_shape'] = list(model.input_shape)
    if args.recalibrate_bn > 0:
        info['bn_recalibrated_batches'] = recalibrate(cfg, pruned, args.recalibrate_bn)
    if not args.no_onnx:
        info['onnx'] = write_onnx(model, pruned, example, osp.join(args.out, ONNX_FILE),
                                  args.opset, gated=model.gated and not args.recalibrate_bn)
    save_export(args.out, cfg, model, pruned, plan, example,
                {k: info[k] for k in ('flops', 'params', 'bn_recalibrated_batches', 'onnx')
                 if k in info})
    print(write_report(args.out, groups, plan, info, task_for(model).export_report(groups, plan)))
    files = 'plan.json, pruned_weights.pth, config.py, pruned.pth, structure.json, report.txt' + \
        (f', {ONNX_FILE}' if 'onnx' in info else '')
    print(f'wrote {args.out}/{{{files}}} (max |export - gated| / max |gated| = {diff:.2e}' +
          (f'; ONNX Runtime vs {info["onnx"]["checked_against"]}: '
           f'{info["onnx"]["max_relative_difference"]:.2e}' if 'onnx' in info else '') + ')')
    return info


def write_onnx(model, pruned, example, path, opset, gated=True):
    """Write the export as ONNX and check it with ONNX Runtime at batch 1 and 2 against the
    gated model (or, after BN recalibration, against the PyTorch export)."""
    if not onnx_available():
        raise ValueError('onnx and onnxruntime are not installed: pip install onnx onnxruntime '
                         '(requirements/runtime.txt), or pass --no-onnx')
    # the deployed network is the tensor mode alone (no auxiliary heads)
    fn = None if model.forward_fn is None else tensor_mode
    export_onnx(pruned, example, path, fn, opset)
    reference = FlatOutputs(model.architecture if gated else pruned, fn).eval()
    batch2 = torch.cat([example, torch.randn(example.shape,
                                             generator=torch.Generator().manual_seed(2))])
    diff = check_onnx(path, reference, [example, batch2])
    if diff > ONNX_TOLERANCE:
        raise RuntimeError(f'the ONNX export differs from the PyTorch model by {diff:.3g} '
                           f'(relative; tolerance {ONNX_TOLERANCE})')
    return dict(file=ONNX_FILE, opset=opset, max_relative_difference=diff,
                checked_against='gated model' if gated else 'PyTorch export')
