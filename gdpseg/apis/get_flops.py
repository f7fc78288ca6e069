"""FLOPs and parameters of the model of a config (mmseg's own script is broken on mmengine 0.10).

    python tools/get_flops.py CONFIG [CHECKPOINT | EXPORT_DIR] [--shape H W]
                              [--latency [--threads 2]]

Counts with mmengine's analyzer (one multiply-add = one flop). For a GDP config it reports the
ungated network and, given a checkpoint, the network as its export would keep it; given an export
of tools/prune.py (its directory or plan.json), the exported network. ``--latency`` also times
it at batch 1 on the CPU, with PyTorch and with ONNX Runtime.
"""
import argparse

import torch
from mmengine.config import DictAction
from mmengine.registry import DefaultScope

from gdpseg.engine.checkpoint import load_weights
from gdpseg.engine.export_dir import export_input_shape, is_export, load_export
from gdpseg.evaluation import TensorMode, count_conv_linear_flops, count_flops
from gdpseg.registry import MODELS
from gdpseg.utils import load_config, register_all_modules



def main(argv=None):
    parser = argparse.ArgumentParser(description='Count FLOPs of a config\'s model')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--latency', action='store_true',
                        help='time the network at batch 1 (PyTorch and ONNX Runtime, CPU)')
    parser.add_argument('--threads', type=int, default=2, help='CPU threads for --latency')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--debug', action='store_true',
                        help='show the traceback of an error in the config, data or files')
    args = parser.parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    # default: the GDP trace size, else the model's crop size (the data preprocessor's), so a
    # baseline and its GDP config are counted at the same size
    size = (cfg.model.get('data_preprocessor') or {}).get('size') or (512, 512)
    shape = (1, 3, *args.shape) if args.shape else tuple(cfg.model.get('input_shape',
                                                                       (1, 3, *size)))
    if str(cfg.model.get('type', '')).endswith('GDPAlgorithm'):
        cfg.model.input_shape = shape
    if args.checkpoint and is_export(args.checkpoint):
        model = load_export(args.checkpoint)
        if not args.shape:
            shape = tuple(export_input_shape(args.checkpoint) or shape)
    else:
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'gdpseg')):
            model = MODELS.build(cfg.model).eval()
        if args.checkpoint:
            load_weights(model, args.checkpoint)
    gates = getattr(model, 'gates', None)
    target = model.architecture if gates is not None else model
    if gates is not None:
        gates.detach()  # count the network, not the gate products
    x = torch.zeros(shape)
    total = count_flops(TensorMode(target), (x,))
    conv_linear = count_conv_linear_flops(TensorMode(target), (x,))
    params = sum(p.numel() for n, p in target.named_parameters())
    line = '=' * 60
    print(f'{line}\nInput shape: {shape}\n'
          f'FLOPs (all ops mmengine counts): {total / 1e9:.2f} G ({total:,})\n'
          f'FLOPs (conv+linear): {conv_linear / 1e9:.2f} G ({conv_linear:,})\n'
          f'Params: {params / 1e6:.2f} M ({params:,})')
    if gates is not None:
        print(f'GDP groups: {sum(g.prunable for g in gates.groups)} prunable of '
              f'{len(gates.groups)}; as exported: {gates.flops() / 1e9:.2f} G conv+linear '
              f'({100 * gates.flops_ratio():.2f} %)')
    result = dict(shape=list(shape), flops=conv_linear, flops_all=total, params=params)
    if args.latency:
        from gdpseg.deploy import Timer
        for backend in ('torch', 'onnxruntime'):  # the same call the counts above trace
            ms = Timer(backend, args.threads, min_seconds=1.0)(TensorMode(target), x)
            result[f'{backend}_ms'] = ms
            print(f'Latency ({backend}, CPU, batch 1, {args.threads} threads): {ms:.2f} ms')
    print(line)
    return result
