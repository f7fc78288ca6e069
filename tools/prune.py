"""Export a trained GDP checkpoint to a plain, pruned network.

    python tools/prune.py CONFIG CHECKPOINT --out DIR [--cfg-options k=v ...]

Writes DIR/pruned.pth (load with ``torch.load(path, weights_only=False)``; no gdpseg needed),
DIR/structure.json (channels kept per group, FLOPs and parameters before/after) and
DIR/report.txt (readable, incl. which ASPP branches survive).
"""
import argparse
import os
import os.path as osp
import sys

import torch
from mmengine.config import DictAction
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

from gdpseg.engine.export import export_gdp_model, structure, write_report
from gdpseg.evaluation import TensorMode, count_conv_linear_flops
from gdpseg.registry import MODELS
from gdpseg.utils import load_config, register_all_modules



def main(argv=None):
    parser = argparse.ArgumentParser(description='Export a pruned network from a GDP checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    if not str(cfg.model.get('type', '')).endswith('GDPAlgorithm'):
        raise ValueError('the config does not describe a GDP model (model.type=GDPAlgorithm)')
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'gdpseg')):
        model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model.eval()
    gates = model.gates
    example = torch.randn(model.input_shape, generator=torch.Generator().manual_seed(1))
    pruned, plain, diff = export_gdp_model(model, example)
    os.makedirs(args.out, exist_ok=True)
    torch.save(plain, osp.join(args.out, 'pruned.pth'))
    before = gates.full_flops()
    after = count_conv_linear_flops(TensorMode(pruned), (example,))
    info = structure(gates, before, after, gates.full_params(),
                     sum(p.numel() for p in pruned.parameters()))
    info['max_abs_difference_to_gated'] = diff
    info['input_shape'] = list(model.input_shape)
    print(write_report(args.out, gates, info))
    print(f'wrote {args.out}/pruned.pth, structure.json, report.txt '
          f'(max |export - gated| = {diff:.2e})')


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'error: {exc}')
