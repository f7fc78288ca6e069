"""Search a trained slimmable network's widths under a budget, and export the found network.

    python tools/search.py CONFIG CHECKPOINT --out DIR (--flops RATIO |
                           --latency-ms MS --latency-table TABLE.json)
                           [--step 0.1] [--batches 8] [--no-fill] [--recalibrate-bn N]
                           [--cfg-options k=v ...]

CONFIG builds a :class:`~gdpseg.methods.search.SlimmableNetwork` (trained with
``tools/train.py``). The search narrows its widths greedily (AutoSlim), then widens within what
the last narrowing left of the budget (``--no-fill``: not), while scoring each
candidate by its loss on ``--batches`` batches of the config's *validation* split (held out from
the training set: never the test split), with batch statistics in its BatchNorms (one set of
statistics is shared by every width). The found widths are exported through the same path as
``tools/prune.py`` (plan.json, pruned weights, report) plus ``search.json`` (every step); with
``--recalibrate-bn N`` the export's BatchNorm statistics are re-estimated on N training batches
first (AutoSlim's calibration: the slimmable network keeps only the full widths'; at a
searched resolution the batches are resized to the found one, as in training); train
the found architecture from scratch with ``model=dict(type='PrunedModel', plan=DIR/plan.json,
reinit=True)``. A space with input resolutions (``model.resolutions``) searches the resolution
too (FLOPs budgets only): the export is at the found resolution, and its FLOPs are a share of
the full network's at the largest.
"""
import argparse
import json
import os
import os.path as osp

import torch
import torch.nn as nn
from mmengine.config import DictAction
from mmengine.registry import DefaultScope

from gdpseg.core import build_resource, full_plan
from gdpseg.engine.bn_recalibration import frozen_bn_statistics
from gdpseg.engine.export_dir import export_model, save_export, structure, write_report
from gdpseg.evaluation import TensorMode, count_conv_linear_flops
from gdpseg.methods.search import greedy_search

from .prune import load_pruning_model, recalibrate


def held_out_loss(model, batches):
    """``evaluate()`` for the search: minus the mean loss over ``batches`` (preprocessed MMEngine
    data), BatchNorms on batch statistics without touching their running ones."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def evaluate():
        model.eval()
        for m in norms:
            m.train()
        try:
            total = 0.0
            with torch.no_grad(), frozen_bn_statistics(model):
                for data in batches:
                    losses = model._run_forward(data, mode='loss')
                    total += float(sum(v.sum() for k, v in losses.items() if 'loss' in k))
            return -total / max(1, len(batches))
        finally:
            for m in norms:
                m.eval()
    return evaluate


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Search the widths of a slimmable network '
                                                 'under a budget and export them')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--flops', type=float, help='budget: share of the full FLOPs')
    parser.add_argument('--latency-ms', type=float, help='budget: milliseconds of the '
                        'measured latency model (needs --latency-table)')
    parser.add_argument('--latency-ratio', type=float, help='budget: share of the full '
                        "network's milliseconds by the latency model (needs --latency-table)")
    parser.add_argument('--latency-table', help='a latency table of '
                        'tools/analysis_tools/measure_latency.py')
    parser.add_argument('--step', type=float, default=0.1,
                        help='share of a group one narrowing removes')
    parser.add_argument('--batches', type=int, default=8,
                        help='validation batches each candidate is scored on')
    parser.add_argument('--no-fill', action='store_true',
                        help='stop at the first widths within the budget (AutoSlim as '
                        'published); by default the search then widens while a candidate fits')
    parser.add_argument('--recalibrate-bn', type=int, default=0, metavar='N',
                        help='re-estimate the found network\'s BN statistics on N training '
                        'batches (the slimmable network shares one set, the full widths\'), '
                        'resized to the found input resolution where it is searched')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--debug', action='store_true',
                        help='show the traceback of an error in the config, data or files')
    args = parser.parse_args(argv)
    budgets = [b for b in (args.flops, args.latency_ms, args.latency_ratio) if b is not None]
    if len(budgets) != 1:
        parser.error('give one budget: --flops RATIO, --latency-ms MS or --latency-ratio RATIO')
    latency = args.latency_ms if args.latency_ms is not None else args.latency_ratio
    if latency is not None and not args.latency_table:
        parser.error('a latency budget needs --latency-table (the measured latency model)')
    for name, share in (('--flops', args.flops), ('--latency-ratio', args.latency_ratio)):
        if share is not None and not 0 < share <= 1:
            parser.error(f'{name} is a share of the full network in (0, 1], got {share}')
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg, model = load_pruning_model(args.config, args.checkpoint, args.cfg_options)
    if not hasattr(model, 'min_widths'):
        raise ValueError(f'the config builds a {type(model).__name__}, not a slimmable network: '
                         "model=dict(type='SlimmableNetwork', architecture=...)")
    groups = model.channel_groups
    sizes = getattr(model, 'resolutions', [])
    if args.flops is not None:
        res = build_resource('flops', groups)
        budget, unit = args.flops * groups.full_flops(), 'FLOPs'
    else:
        if len(sizes) > 1:
            raise ValueError(f'a latency budget with input resolutions {sizes}: the latency '
                             'table is measured at one input size; search under --flops, or '
                             'leave model.resolutions out')
        import gdpseg.deploy  # noqa: F401  (registers the latency resource)
        res = build_resource(dict(type='latency', table=args.latency_table), groups)
        budget, unit = args.latency_ms, 'ms'
        if budget is None:  # a share of what the same model predicts for the full network
            budget = args.latency_ratio * res.plan_value(groups, full_plan(groups))

    def resource(widths):
        plan = model.gates.width_plan(widths)
        if len(sizes) <= 1:
            return res.plan_value(groups, plan)
        # the FLOPs at the current resolution, counted by the groups traced there
        return model.resolution_resource().plan_value(model.resolution_groups(), plan)

    from mmengine.runner import Runner

    from gdpseg.engine.tasks import check_data
    check_data(cfg.val_dataloader)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'gdpseg')):
        loader = Runner.build_dataloader(cfg.val_dataloader)
    batches = []
    for i, data in enumerate(loader):
        if i >= args.batches:
            break
        batches.append(model.data_preprocessor(data, False))
    found = greedy_search(model, held_out_loss(model, batches), budget, resource, args.step,
                          log=print, fill=not args.no_fill, unit=unit)
    model.eval()
    shape = tuple(model.input_shape)
    if len(sizes) > 1:  # the found resolution
        shape = shape[:-2] + (model.resolution, model.resolution)
    example = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    pruned, plan, diff = export_model(model, example)
    os.makedirs(args.out, exist_ok=True)
    after = count_conv_linear_flops(TensorMode(pruned), (example,))
    info = structure(groups, plan, groups.full_flops(), after, groups.full_params(),
                     sum(p.numel() for p in pruned.parameters()))
    info['max_relative_difference_to_gated'] = diff
    info['input_shape'] = list(shape)
    if args.recalibrate_bn > 0:  # after the exactness check: the statistics change on purpose
        # at a searched resolution the batches are resized to the found one as the slimmable
        # network resized them in training (bilinear, antialiased)
        info['bn_recalibrated_batches'] = recalibrate(
            cfg, pruned, args.recalibrate_bn, model.resized if len(sizes) > 1 else None)
    info['search'] = dict(budget=budget, unit=unit, resource=found['resource'],
                          widths=found['widths'], resolution=found['resolution'],
                          steps=len(found['history']), widenings=len(found['filled']))
    save_export(args.out, cfg, model, pruned, plan, example,
                {k: info[k] for k in ('flops', 'params', 'search', 'bn_recalibrated_batches')
                 if k in info})
    with open(osp.join(args.out, 'search.json'), 'w') as f:
        json.dump(dict(found, budget=budget, unit=unit), f, indent=1)
    sections, summary = (), groups
    if len(sizes) > 1:  # the groups' summary counts FLOPs at the export's input
        summary = model.resolution_groups()
        sections = [('Input resolution', [
            f'{model.resolution}x{model.resolution}, searched over {sizes}; the FLOPs above are '
            f'at it, against the full network at {sizes[-1]}x{sizes[-1]}; the summary below '
            f'is against the full network at {model.resolution}x{model.resolution}'])]
    print(write_report(args.out, summary, plan, info, sections))
    print(f'found widths within {budget:.6g} {unit}: {found["resource"]:.6g} {unit} '
          f'({100 * after / groups.full_flops():.1f} % of the FLOPs) in '
          f'{len(found["history"])} steps and {len(found["filled"])} widenings; wrote '
          f'{args.out}/{{plan.json, search.json, ...}}')
    if len(sizes) > 1:
        print(f'found input resolution {model.resolution}x{model.resolution} (of {sizes}): '
              f'train and test the found network on inputs resized to it (the pipeline\'s '
              f'Resize, scale=({model.resolution}, {model.resolution})); its FLOPs above are '
              'counted there')
    return info
